"""The text of a wave's notification: the wave, and the recipient's own cases in it, within the
300 characters of the text field."""

from types import SimpleNamespace

from notifications.writer import TEXT_LENGTH, group_text

NBSP = "\u00a0"


def told_of(count: int, *, wave_name: str = "Printemps", kind: str = "contract"):
    return [
        SimpleNamespace(
            case=SimpleNamespace(reference=f"CT-2026-{number:04d}", kind=kind),
            event=SimpleNamespace(payload={"wave": 7, "wave_name": wave_name}),
        )
        for number in range(1, count + 1)
    ]


def test_every_case_is_named_when_they_fit():
    assert group_text(told_of(2)) == (
        f"Vague «{NBSP}Printemps{NBSP}» validée{NBSP}: CT-2026-0001, CT-2026-0002 contractualisés"
    )


def test_a_derogation_alone_is_contractualisee():
    text = group_text(told_of(1, kind="derogation"))
    assert text.endswith(f"{NBSP}: CT-2026-0001 contractualisée")


def test_the_others_are_counted_when_they_do_not_fit():
    text = group_text(told_of(150))
    assert len(text) <= TEXT_LENGTH
    shown = text.count("CT-2026-")
    assert 10 < shown < 150
    assert text.endswith(f" et {150 - shown}{NBSP}autres contractualisés")


def test_a_long_wave_name_still_names_the_first_case_and_counts_the_others():
    text = group_text(told_of(40, wave_name="V" * 200))
    assert len(text) <= TEXT_LENGTH
    assert "CT-2026-0001" in text
    assert text.endswith(f"et {40 - text.count('CT-2026-')}{NBSP}autres contractualisés")


def test_the_mail_of_a_wave_leads_to_the_wave_and_that_of_a_case_to_the_case():
    from django.urls import reverse

    from notifications.emails import instant_message

    def mail_for(link: str) -> str:
        recipient = SimpleNamespace(email="a@demo.test", get_full_name=lambda: "Agent")
        notification = SimpleNamespace(recipient=recipient, text="Vague validée", link=link)
        return instant_message(notification).body

    wave = mail_for(reverse("wave-detail", args=[7]))
    assert "Voir la vague\u00a0: " in wave
    assert "partie à un dossier de cette vague" in wave
    assert "Voir le dossier" not in wave
    case = mail_for(reverse("contract-detail", args=["TI-2019-0001"]))
    assert "Voir le dossier\u00a0: " in case
    assert "Voir la vague" not in case
