"""Irreversible actions ask first: without ``confirm=1`` the server shows a confirmation page
and changes nothing; with it, it acts (the services still check the rights). With
JavaScript, the page's button opens a DSFR modal holding the confirming form."""

import pytest
from django.urls import reverse

from cases.models import ActionSheet, Case, Wave
from tests import factories
from tests.cases.page import Page

pytestmark = pytest.mark.django_db


def confirmation_form(page):
    forms = [f for f in page.find_all("form") if f.find_all("input", name="confirm", value="1")]
    assert len(forms) == 1
    return forms[0]


def buttons(element) -> list[str]:
    return [b.text.strip() for b in element.find_all("button")] + [
        a.text.strip() for a in element.find_all("a")
    ]


def test_withdraw_asks_first_and_carries_the_comment(client):
    contract = factories.contract_in_state("draft")
    client.force_login(contract.created_by)
    url = reverse("contract-transition", args=[contract.reference])
    data = {"version": contract.version, "transition": "withdraw", "comment": "Projet abandonné."}
    response = client.post(url, data)
    assert response.status_code == 200
    page = Page(response.content.decode())
    assert page.find_all("h1")[0].text.strip() == f"Retirer le dossier {contract.reference}\u202f?"
    assert "Cette action est définitive." in response.content.decode()
    form = confirmation_form(page)
    assert form.attrs["action"] == url
    assert page.by_id("confirm-comment").value == "Projet abandonné."
    assert buttons(form) == ["Confirmer", "Annuler"]
    fresh = Case.objects.get(pk=contract.pk)
    assert (fresh.state, fresh.version) == ("draft", contract.version)

    done = client.post(url, {**data, "confirm": "1"})
    assert done.status_code == 302
    assert Case.objects.get(pk=contract.pk).state == "withdrawn"


@pytest.mark.parametrize("kind", ["contract", "derogation"])
def test_cancelling_a_confirmation_goes_back_to_the_case_with_its_comment(client, kind):
    """Without JavaScript, « Annuler » posts back: the case's page, the comment (edited on the
    confirmation page) in its decision form, nothing done."""
    case = (
        factories.contract_in_state("draft")
        if kind == "contract"
        else factories.derogation_in_state("draft")
    )
    client.force_login(case.created_by)
    url = reverse(f"{kind}-transition", args=[case.reference])
    data = {"version": case.version, "transition": "withdraw", "comment": "Hors programme."}
    page = Page(client.post(url, data).content.decode())
    cancel = [b for b in confirmation_form(page).find_all("button") if b.text.strip() == "Annuler"]
    assert [(b.attrs["name"], b.attrs["value"]) for b in cancel] == [("cancel", "1")]
    edited = {**data, "confirm": "1", "cancel": "1", "comment": "Hors programme, à revoir."}
    back = client.post(url, edited)
    assert back.status_code == 200
    assert Page(back.content.decode()).by_id("transition-comment").value == (
        "Hors programme, à revoir."
    )
    fresh = Case.objects.get(pk=case.pk)
    assert (fresh.state, fresh.version) == ("draft", case.version)


def test_reject_asks_first_then_rejects(client):
    contract = factories.contract_in_state("regional_review")
    client.force_login(factories.region_reviewer("84"))
    url = reverse("contract-transition", args=[contract.reference])
    data = {"version": contract.version, "transition": "reject", "comment": "Hors programme."}
    response = client.post(url, data)
    assert response.status_code == 200
    assert f"Rejeter le dossier {contract.reference} ?" in response.content.decode()
    assert Case.objects.get(pk=contract.pk).state == "regional_review"
    assert client.post(url, {**data, "confirm": "1"}).status_code == 302
    assert Case.objects.get(pk=contract.pk).state == "rejected"


def test_reject_from_the_task_page_asks_first(client):
    from workflows.engine import open_task_locked

    contract = factories.contract_in_state("regional_review")
    task = open_task_locked(Case.objects.get(pk=contract.pk))
    client.force_login(factories.region_reviewer("84"))
    url = reverse("task-detail", args=[task.pk])
    data = {"version": contract.version, "transition": "reject", "comment": "Hors programme."}
    response = client.post(url, data)
    assert response.status_code == 200
    assert confirmation_form(Page(response.content.decode())).attrs["action"] == url
    assert Case.objects.get(pk=contract.pk).state == "regional_review"
    assert client.post(url, {**data, "confirm": "1"}).status_code == 302
    assert Case.objects.get(pk=contract.pk).state == "rejected"


def test_a_json_caller_must_confirm_too(client):
    contract = factories.contract_in_state("draft")
    client.force_login(contract.created_by)
    url = reverse("contract-transition", args=[contract.reference])
    data = {"version": contract.version, "transition": "withdraw"}
    response = client.post(url, data, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and response.json()["confirm_required"] is True
    assert Case.objects.get(pk=contract.pk).state == "draft"
    done = client.post(url, {**data, "confirm": "1"}, HTTP_ACCEPT="application/json")
    assert done.status_code == 200 and done.json()["state"] == "withdrawn"


def test_a_transition_one_may_not_take_is_refused_without_asking(client):
    contract = factories.contract_in_state("draft")
    client.force_login(factories.region_reviewer("84"))
    response = client.post(
        reverse("contract-transition", args=[contract.reference]),
        {"version": contract.version, "transition": "withdraw"},
    )
    assert response.status_code == 403
    assert Case.objects.get(pk=contract.pk).state == "draft"


def test_deleting_a_fiche_action_asks_first(client):
    contract = factories.contract_in_state("draft")
    action = contract.actions.get()
    client.force_login(contract.created_by)
    url = reverse("action-delete", args=[contract.reference, action.pk])
    response = client.post(url, {"version": contract.version})
    assert response.status_code == 200
    assert f"Supprimer la fiche-action « {action.title} » ?" in response.content.decode()
    assert buttons(confirmation_form(Page(response.content.decode()))) == ["Confirmer", "Annuler"]
    assert ActionSheet.objects.filter(pk=action.pk).exists()
    assert client.post(url, {"version": contract.version, "confirm": "1"}).status_code == 302
    assert not ActionSheet.objects.filter(pk=action.pk).exists()


def test_cancelling_a_wave_asks_first(client):
    wave, minister = factories.wave_of(1)
    client.force_login(minister)
    url = reverse("wave-cancel", args=[wave.pk])
    response = client.post(url, {"version": wave.version})
    assert response.status_code == 200
    assert f"Annuler la vague « {wave} » ?" in response.content.decode()
    assert Wave.objects.get(pk=wave.pk).state == "planned"
    assert client.post(url, {"version": wave.version, "confirm": "1"}).status_code == 302
    assert Wave.objects.get(pk=wave.pk).state == "cancelled"


def modal_of(page: Page, opener_text: str):
    """The dialog a page's button opens; the button still posts without JavaScript."""
    opener = [
        b
        for b in page.find_all("button")
        if b.text.strip() == opener_text and "data-confirm-opener" in b.attrs
    ]
    assert len(opener) == 1, opener_text
    button = opener[0]
    assert button.attrs.get("data-fr-opened") == "false"
    assert button.attrs.get("type") == "submit"
    dialog = page.by_id(button.attrs["aria-controls"])
    assert dialog.tag == "dialog" and "fr-modal" in dialog.classes
    assert page.by_id(dialog.attrs["aria-labelledby"]).text.strip()
    assert confirmation_form(dialog)
    return dialog


def test_the_case_page_opens_a_modal_for_withdraw(client):
    contract = factories.contract_in_state("draft")
    client.force_login(contract.created_by)
    page = Page(client.get(reverse("contract-detail", args=[contract.reference])).content.decode())
    dialog = modal_of(page, "Retirer le dossier")
    assert f"Retirer le dossier {contract.reference}\u202f?" in dialog.text
    assert dialog.find_all("input", name="transition", value="withdraw")
    assert dialog.find_all("textarea", name="comment")
    assert "Cette action est définitive." in dialog.text
    modal_of(page, "Supprimer")


def test_the_review_page_opens_a_modal_for_reject(client):
    contract = factories.contract_in_state("regional_review")
    client.force_login(factories.region_reviewer("84"))
    page = Page(client.get(reverse("contract-detail", args=[contract.reference])).content.decode())
    dialog = modal_of(page, "Rejeter le dossier")
    assert dialog.find_all("input", name="transition", value="reject")


def test_the_wave_page_opens_a_modal_for_cancel(client):
    wave, minister = factories.wave_of(1)
    client.force_login(minister)
    page = Page(client.get(reverse("wave-detail", args=[wave.pk])).content.decode())
    modal_of(page, "Annuler la vague")
