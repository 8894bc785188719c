"""Waves through HTTP: the ministry composes and validates; the parties read; others get 404."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from cases.models import Case, Wave
from cases.waves import services as waves
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_ministry_composes_confirms_and_validates(client):
    minister = factories.ministry_agent()
    first = factories.contract_in_state("signed_off", territory_code="8401")
    second = factories.contract_in_state("signed_off", territory_code="8402")
    client.force_login(minister)
    client.post(
        reverse("wave-create"),
        {"name": "Semaine de l'industrie", "date": "2019-03-18", "place": "Paris"},
    )
    wave = Wave.objects.get(name="Semaine de l'industrie")
    for contract in (first, second):
        wave.refresh_from_db()
        client.post(
            reverse("wave-add", args=[wave.pk]), {"contract": contract.pk, "version": wave.version}
        )
    assert set(waves.contracts_of(wave)) == {first, second}

    confirm = client.get(reverse("wave-validate", args=[wave.pk])).content.decode()
    assert first.reference in confirm and second.reference in confirm
    assert "«&nbsp;Validé par le ministère&nbsp;» → «&nbsp;Contractualisé&nbsp;»" in confirm
    assert Case.objects.get(pk=first.pk).state == "signed_off"

    wave.refresh_from_db()
    response = client.post(
        reverse("wave-validate", args=[wave.pk]), {"version": wave.version}, follow=True
    )
    assert "validée" in response.content.decode()
    assert {Case.objects.get(pk=c.pk).state for c in (first, second)} == {"contractualised"}
    pdf = client.get(reverse("wave-document", args=[wave.pk]))
    assert pdf.content.startswith(b"%PDF") and pdf["X-Content-Type-Options"] == "nosniff"
    xlsx = client.get(reverse("wave-export", args=[wave.pk, "xlsx"]))
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert {row[0] for row in rows[1:]} == {first.reference, second.reference}
    csv_text = client.get(reverse("wave-export", args=[wave.pk, "csv"])).content.decode("utf-8-sig")
    assert first.reference in csv_text and second.reference in csv_text


def test_a_failing_validation_lists_the_contract_and_changes_nothing(client):
    wave, minister = factories.wave_of(2)
    broken = waves.contracts_of(wave)[0]
    Case.objects.filter(pk=broken.pk).update(state="regional_review")
    client.force_login(minister)
    response = client.post(reverse("wave-validate", args=[wave.pk]), {"version": wave.version})
    assert response.status_code == 409
    assert broken.reference in response.content.decode()
    assert Wave.objects.get(pk=wave.pk).state == "planned"
    assert not Case.objects.filter(state="contractualised").exists()


def test_a_party_reads_the_wave_without_controls(client):
    wave, _ = factories.wave_of(1)
    contract = waves.contracts_of(wave).get()
    client.force_login(contract.created_by)
    page = client.get(reverse("wave-detail", args=[wave.pk])).content.decode()
    assert contract.reference in page and 'id="composer"' not in page
    assert client.get(reverse("wave-export", args=[wave.pk, "csv"])).status_code == 200


NOT_MINISTRY = {
    "EPCI agent of a contract": None,
    "reviewer of the Region": lambda: factories.region_reviewer("84"),
    "steering committee": factories.steering_member,
}


@pytest.mark.parametrize("who", NOT_MINISTRY.values(), ids=NOT_MINISTRY.keys())
def test_only_the_ministry_has_the_controls(client, who):
    wave, _ = factories.wave_of(2)
    contract = waves.contracts_of(wave)[0]
    client.force_login(who() if who else contract.created_by)
    spare = factories.contract_in_state("signed_off")
    assert client.get(reverse("wave-create")).status_code == 404
    for url, data in [
        (reverse("wave-create"), {"name": "X", "date": "2019-03-18", "place": "Paris"}),
        (reverse("wave-add", args=[wave.pk]), {"contract": spare.pk, "version": wave.version}),
        (reverse("wave-remove", args=[wave.pk, contract.pk]), {"version": wave.version}),
        (reverse("wave-cancel", args=[wave.pk]), {"version": wave.version}),
        (reverse("wave-validate", args=[wave.pk]), {"version": wave.version}),
    ]:
        assert client.post(url, data).status_code == 404, url
    fresh = Wave.objects.get(pk=wave.pk)
    assert (fresh.state, fresh.version, Wave.objects.count()) == ("planned", wave.version, 1)


@pytest.mark.parametrize(
    "outsider",
    [lambda: factories.epci_agent("200065597"), lambda: factories.region_reviewer("28")],
    ids=["EPCI agent elsewhere", "reviewer of another Region"],
)
def test_outsiders_get_404(client, outsider):
    wave, _ = factories.wave_of(1)
    client.force_login(outsider())
    for url in [
        reverse("wave-detail", args=[wave.pk]),
        reverse("wave-export", args=[wave.pk, "csv"]),
        reverse("wave-export", args=[wave.pk, "xlsx"]),
    ]:
        assert client.get(url).status_code == 404, url
    assert wave.name not in client.get(reverse("wave-list")).content.decode()


def test_the_demo_wave_is_the_general_assembly_of_5_march_2019(capsys):
    factories.ministry_agent()
    call_command("seed_demo_wave")
    wave = Wave.objects.get()
    assert (wave.date.isoformat(), wave.state) == ("2019-03-05", "planned")
    assert "Lyon" in wave.place
    call_command("seed_demo_wave")
    assert Wave.objects.count() == 1 and "existe déjà" in capsys.readouterr().out
