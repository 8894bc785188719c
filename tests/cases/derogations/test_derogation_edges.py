"""Edges of the derogation requests: private opinion documents, bad input, stray actions,
opinions overtaken by events, the deadline and resubmission, links to contracts."""

import html
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from cases.derogations import services as derogations
from cases.kernel import services
from cases.models import CallForProjects, Case, CaseEvent, DerogationRequest, Document
from cases.waves import services as waves
from tests import factories

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 30


def ask(request, name):
    return derogations.opinion_request(
        case=request,
        actor=factories.ministry_agent(),
        organisation=factories.national_organisation("operator", name),
        due_on=timezone.localdate() + timedelta(days=5),
        question="Votre avis ?",
    )


def test_an_opinions_document_stays_with_the_reviewers_and_its_authors(client):
    request = factories.derogation_in_state("ministerial_review")
    opinion = ask(request, "Bpifrance")
    ask(request, "Business France")
    author = factories.operator_agent("Bpifrance")
    derogations.opinion_answer(
        opinion=opinion,
        actor=author,
        verdict="reserved",
        text="Voir la note jointe.",
        upload=SimpleUploadedFile("avis-secret.png", PNG),
    )
    document = Document.objects.get(case=request, original_name="avis-secret.png")
    assert document.private
    assert CaseEvent.objects.get(case=request, name="document_add").private
    url = reverse("document-download", args=[document.pk])
    page = reverse("derogation-detail", args=[request.reference])
    allowed = [author, factories.ministry_agent(), factories.region_reviewer("84")]
    refused = [factories.epci_agent("200000172"), factories.operator_agent("Business France")]
    for user in allowed:
        client.force_login(user)
        assert client.get(url).status_code == 200
    for user in refused:
        client.force_login(user)
        assert client.get(url).status_code == 404
        assert "avis-secret.png" not in client.get(page).content.decode()


def test_a_stray_transition_name_is_refused_not_a_crash(client):
    request = factories.derogation_in_state("regional_review")
    client.force_login(factories.region_reviewer("84"))
    response = client.post(
        reverse("derogation-transition", args=[request.reference]),
        {"transition": "approve", "version": request.version},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 409
    assert "Action inconnue" in response.json()["error"]
    contract = factories.contract_in_state("regional_review")
    response = client.post(
        reverse("contract-transition", args=[contract.reference]),
        {"transition": "forward", "version": contract.version},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 409
    assert Case.objects.get(pk=contract.pk).state == "regional_review"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("duration_months", "5", "6"),
        ("duration_months", "61", "60"),
        ("expected_jobs", "-3", "0"),
        ("company_siret", "73282932000075", "SIRET"),
        ("rule_kind", "reglement", "Sélectionnez un choix valide"),
    ],
)
def test_bad_input_on_the_form_is_explained_and_changes_nothing(client, field, value, message):
    request = factories.derogation_in_state("draft")
    client.force_login(request.created_by)
    data = {**factories.REQUEST_FIELDS, "version": request.version, field: value}
    response = client.post(reverse("derogation-edit", args=[request.reference]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    fresh = DerogationRequest.objects.get(pk=request.pk)
    assert (fresh.version, fresh.event_count) == (request.version, request.event_count)


def test_submitting_without_the_legal_reference_says_what_is_missing():
    request = factories.derogation_in_state("draft", rule_reference="")
    with pytest.raises(services.InvalidInput) as error:
        services.case_submit(case=request, actor=request.created_by)
    assert "la référence du texte visé" in " ".join(error.value.problems)


def test_an_edit_without_its_version_is_refused(client):
    request = factories.derogation_in_state("draft")
    client.force_login(request.created_by)
    data = {**factories.REQUEST_FIELDS, "title": "Autre intitulé"}
    response = client.post(reverse("derogation-edit", args=[request.reference]), data)
    assert "rechargez la page" in response.content.decode()
    assert DerogationRequest.objects.get(pk=request.pk).title == request.title


def test_opinions_still_awaited_close_when_the_request_is_sent_back(client):
    request = factories.derogation_in_state("ministerial_review")
    opinion = ask(request, "Bpifrance")
    services.case_request_changes(
        case=request, actor=factories.ministry_agent(), comment="Complétez le plan d'évaluation."
    )
    task = Task.objects.get(process__caseprocess__case=request, data__opinion=opinion.pk)
    assert task.status == STATUS.CANCELED
    member = factories.operator_agent("Bpifrance")
    client.force_login(member)
    page = client.get(reverse("opinion-answer", args=[opinion.pk])).content.decode()
    assert "n'attend plus cet avis" in page and 'name="verdict"' not in page
    assert request.reference not in client.get(reverse("task-list")).content.decode()


def test_a_request_sent_back_after_the_deadline_may_be_submitted_again():
    request = factories.derogation_in_state("regional_review")
    services.case_request_changes(
        case=request, actor=factories.region_reviewer("84"), comment="Précisez la durée."
    )
    CallForProjects.objects.filter(pk=request.call_id).update(
        closes_at=timezone.now() - timedelta(days=1)
    )
    services.case_submit(case=request, actor=request.created_by)
    assert Case.objects.get(pk=request.pk).state == "regional_review"


def test_forward_is_offered_only_once_the_region_has_spoken(client):
    request = factories.derogation_in_state("regional_review")
    reviewer = factories.region_reviewer("84")
    client.force_login(reviewer)
    page = client.get(reverse("derogation-detail", args=[request.reference])).content.decode()
    assert 'value="forward"' not in page
    assert "La Région doit d'abord donner son avis." in html.unescape(page)
    derogations.region_opinion_give(
        case=request,
        actor=reviewer,
        opinion="favourable",
        reasons="Oui",
        expected_version=request.version,
    )
    page = client.get(reverse("derogation-detail", args=[request.reference])).content.decode()
    assert 'value="forward"' in page


OUTSIDERS = [
    lambda: factories.epci_agent("200065597"),
    lambda: factories.region_reviewer("28"),
    lambda: factories.operator_agent("France Travail"),
]


@pytest.mark.parametrize("outsider", OUTSIDERS, ids=["epci elsewhere", "other region", "operator"])
def test_outsiders_get_404_on_a_requests_documents_and_tasks(client, outsider):
    request = factories.derogation_in_state("regional_review")
    document = services.document_add(
        case=request, actor=request.created_by, upload=SimpleUploadedFile("plan.png", PNG)
    )
    task = Task.objects.get(
        process__caseprocess__case=request, status=STATUS.NEW, flow_task_type="HUMAN"
    )
    client.force_login(outsider())
    assert client.get(reverse("document-download", args=[document.pk])).status_code == 404
    assert client.get(reverse("task-detail", args=[task.pk])).status_code == 404
    assert client.post(reverse("task-assign", args=[task.pk])).status_code == 404


def test_a_derogation_granted_before_its_territory_had_a_contract_joins_the_wave():
    request = factories.derogation_in_state("ministerial_review", territory_code="8401")
    minister = factories.ministry_agent()
    derogations.case_decide(
        case=request,
        actor=minister,
        outcome="granted",
        motivation="Oui",
        legal_basis="Art. 37-1",
        granted_duration_months=12,
        granted_conditions="Bilan",
    )
    assert DerogationRequest.objects.get(pk=request.pk).contract_id is None
    wave, minister = factories.wave_of(1)  # its contract is in territory 8401
    contract = waves.contracts_of(wave).get()
    waves.wave_validate(wave=wave, actor=minister)
    fresh = DerogationRequest.objects.get(pk=request.pk)
    assert (fresh.state, fresh.contract_id) == ("contractualised", contract.pk)
