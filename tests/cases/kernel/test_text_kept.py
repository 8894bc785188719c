"""What a user typed survives another party's action on the same case: a form posted after a
colleague submitted the case, after a Region decided, or after the contract went back to its
EPCI comes back with the text in it and says why nothing was saved."""

import pytest
from django.urls import reverse

from cases.contracts.models import FinancingLine
from cases.kernel import services
from cases.models import Case
from tests import factories
from tests.cases.contracts.test_amendment_rules import amendment_in_state
from tests.cases.page import Page

pytestmark = pytest.mark.django_db

TYPED = "Trois paragraphes « réécrits » & une phrase\nsur la gouvernance du projet."


def contract_edit(case):
    data = {"version": case.version - 1, "title": case.title, "summary": TYPED}
    data |= {"period_start": "2019-03-05", "period_end": "2022-12-31"}
    return reverse("contract-edit", args=[case.reference]), data, "id_summary"


def action_edit(case):
    action = case.actions.get()
    data = {"version": case.version - 1, "title": action.title, "axis": action.axis}
    data |= {"project_owner": "Porteur", "total_cost": "100 000", "description": TYPED}
    data |= {"fin-TOTAL_FORMS": "0", "fin-INITIAL_FORMS": "0"}
    return reverse("action-edit", args=[case.reference, action.pk]), data, "id_description"


def derogation_edit(case):
    data = {"version": case.version - 1, "title": case.title, "justification": TYPED}
    return reverse("derogation-edit", args=[case.reference]), data, "id_justification"


def amendment_edit(case):
    data = {"version": case.version - 1, "purpose": TYPED}
    return reverse("amendment-edit", args=[case.reference]), data, "id_purpose"


EDITS = {
    "contrat": (lambda: factories.contract_in_state("regional_review"), contract_edit),
    "fiche-action": (lambda: factories.contract_in_state("regional_review"), action_edit),
    "dérogation": (lambda: factories.derogation_in_state("regional_review"), derogation_edit),
    "avenant": (lambda: amendment_in_state("regional_review"), amendment_edit),
}


@pytest.mark.parametrize("kind", EDITS)
def test_an_edit_posted_after_a_colleague_submitted_comes_back_with_its_text(client, kind):
    """The EPCI agent had the form open; a colleague submitted the case meanwhile."""
    made, form_of = EDITS[kind]
    case = made()
    author = Case.objects.get(pk=case.pk).created_by
    url, data, field = form_of(case)
    client.force_login(author)
    response = client.post(url, data)
    assert response.status_code == 409
    page = Page(response.content.decode())
    assert page.by_id(field).value == TYPED
    summary = page.by_id("erreurs").text
    assert "Rien n'a été enregistré" in summary
    assert "n'est plus modifiable" in summary and "Instruction régionale" in summary
    assert Case.objects.get(pk=case.pk).version == case.version
    # Opened again, not posted: the page says it and leads back to the case.
    assert client.get(url).status_code == 302


def test_an_edit_by_someone_who_never_could_is_refused_and_saves_nothing(client):
    case = factories.contract_in_state("draft")
    url, data, _ = contract_edit(case)
    client.force_login(factories.region_reviewer("84"))
    response = client.post(url, {**data, "version": case.version})
    assert response.status_code == 403
    assert Case.objects.get(pk=case.pk).version == case.version


def test_a_decision_posted_after_another_reviewer_decided_gives_the_comment_back(client):
    contract = factories.contract_in_state("regional_review")
    services.case_approve(case=contract, actor=factories.region_reviewer("84"))
    comment = "Merci de préciser le calendrier\ndes fiches 2 et 3 « en priorité »."
    client.force_login(factories.region_reviewer("84"))
    response = client.post(
        reverse("contract-transition", args=[contract.reference]),
        {"version": contract.version, "transition": "request_changes", "comment": comment},
    )
    assert response.status_code == 409
    page = Page(response.content.decode())
    assert "vient d'être modifié" in page.by_id("decision-errors").text
    returned = page.by_id("returned-text")
    assert returned.tag == "textarea" and "readonly" in returned.attrs
    assert returned.value == comment
    assert Case.objects.get(pk=contract.pk).state == "ministerial_review"


def test_the_task_page_posted_after_the_task_was_done_gives_the_comment_back(client):
    from workflows.engine import open_task_locked

    contract = factories.contract_in_state("regional_review")
    task = open_task_locked(Case.objects.get(pk=contract.pk))
    services.case_approve(case=contract, actor=factories.region_reviewer("84"))
    comment = "Le plan de financement de la fiche 2 est à revoir."
    client.force_login(factories.region_reviewer("84"))
    response = client.post(
        reverse("task-detail", args=[task.pk]),
        {"version": contract.version, "transition": "request_changes", "comment": comment},
    )
    assert response.status_code == 409
    page = Page(response.content.decode())
    assert "déjà traitée" in page.by_id("decision-errors").text
    assert page.by_id("returned-text").value == comment
    assert Case.objects.get(pk=contract.pk).state == "ministerial_review"


def test_a_financing_answer_posted_after_the_contract_went_back_gives_the_note_back(client):
    contract = factories.contract_in_state("regional_review")
    services.case_request_changes(
        case=contract, actor=factories.region_reviewer("84"), comment="À reprendre."
    )
    line = FinancingLine.objects.get(action__contract=contract)
    note = "Engagement sous réserve du comité\ndu 12 mars « crédit »."
    client.force_login(factories.operator_agent("Bpifrance"))
    response = client.post(
        reverse("financing-answer", args=[contract.reference, line.pk]),
        {
            "version": contract.version,
            "decision": "commit",
            "amount": "38 000,50",
            "committed_on": "2019-06-01",
            "note": note,
        },
    )
    assert response.status_code == 409
    page = Page(response.content.decode())
    assert "en rédaction" in page.by_id("erreurs").text
    returned = page.by_id("returned-text")
    assert "readonly" in returned.attrs and returned.value == note
    assert "38 000,50" in returned.parent.text  # the amount typed, in the label
    assert FinancingLine.objects.get(pk=line.pk).status == FinancingLine.Status.REQUESTED


def test_an_opinion_sent_incomplete_once_no_longer_awaited_gives_its_text_back(client):
    """The verdict forgotten, and the ministry decided meanwhile: what matters first is that
    the opinion can no longer be given; the text comes back to copy."""
    from datetime import timedelta

    from django.utils import timezone

    from cases.derogations import services as derogations

    derogation = factories.derogation_in_state("ministerial_review")
    minister = factories.ministry_agent()
    opinion = derogations.opinion_request(
        case=derogation,
        actor=minister,
        organisation=factories.national_organisation("operator", "Bpifrance"),
        due_on=timezone.localdate() + timedelta(days=3),
        question="Le financement est-il solide ?",
    )
    factories.grant(derogation, minister)
    client.force_login(factories.operator_agent("Bpifrance"))
    response = client.post(reverse("opinion-answer", args=[opinion.pk]), {"text": TYPED})
    assert response.status_code == 409
    page = Page(response.content.decode())
    assert "n'attend plus d'avis" in page.by_id("avis-non-enregistre").text
    assert page.by_id("returned-text").value == TYPED
