"""The life of a derogation request through HTTP, as each role, to each outcome."""

import csv
import hashlib
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from cases.derogations.calls import PARIS
from cases.models import CallForProjects, CaseEvent, DerogationRequest, Opinion
from territories.reference_data import DEFAULT_DATA_DIR
from tests import factories

pytestmark = pytest.mark.django_db

OUTCOMES = {
    "granted": (
        {"granted_duration_months": "36", "granted_conditions": "Bilan annuel à la DREAL."},
        "Dérogation expérimentale accordée",
    ),
    "refused": ({}, "Demande refusée"),
    "solved_without_derogation": (
        {"solution": "L'article R. 122-2-1 le permet déjà."},
        "Possible sans dérogation",
    ),
}


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def version(reference) -> int:
    return DerogationRequest.objects.get(reference=reference).version


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_full_life_through_http(client, outcome):
    call = factories.open_call()
    agent = factories.epci_agent("200000172")
    reviewer, minister = factories.region_reviewer("84"), factories.ministry_agent()
    operator = factories.operator_agent("Bpifrance")

    client.force_login(agent)
    assert "Nouvelle demande de dérogation" in page(client, reverse("derogation-create"))
    data = {**factories.REQUEST_FIELDS, "territory": _territory_pk("8414"), "call": call.pk}
    response = client.post(reverse("derogation-create"), data, follow=True)
    assert "enregistrée en brouillon" in response.content.decode()
    reference = DerogationRequest.objects.get().reference
    detail = reverse("derogation-detail", args=[reference])
    client.post(
        reverse("derogation-transition", args=[reference]),
        {"transition": "submit", "version": version(reference)},
    )

    client.force_login(reviewer)
    assert "Avis de la Région" in page(client, detail)
    client.post(
        reverse("region-opinion", args=[reference]),
        {"opinion": "favourable", "reasons": "Projet structurant.", "version": version(reference)},
    )
    client.post(
        reverse("derogation-transition", args=[reference]),
        {"transition": "forward", "version": version(reference)},
    )

    client.force_login(minister)
    client.post(
        reverse("opinion-request", args=[reference]),
        {
            "organisation": operator.memberships.get().organisation_id,
            "due_on": (timezone.localdate() + timedelta(days=5)).isoformat(),
            "question": "Impact sur vos prêts ?",
        },
    )
    opinion = Opinion.objects.get()

    client.force_login(operator)
    assert reference in page(client, reverse("task-list"))
    client.post(
        reverse("opinion-answer", args=[opinion.pk]), {"verdict": "favourable", "text": "Oui."}
    )
    assert Opinion.objects.get().verdict == "favourable"

    client.force_login(minister)
    assert "Favorable" in page(client, detail)
    fields, label = OUTCOMES[outcome]
    response = client.post(
        reverse("derogation-decide", args=[reference]),
        {
            "outcome": outcome,
            "motivation": "Motivation de la décision.",
            "legal_basis": "Loi n° 2018-727 du 10 août 2018",
            "version": version(reference),
            **fields,
        },
        follow=True,
    )
    assert "Décidé" in response.content.decode()

    client.force_login(agent)
    final = page(client, detail)
    assert label in final
    event = CaseEvent.objects.get(case__reference=reference, name="decide")
    letter_url = reverse("document-download", args=[event.payload["letter"]["document"]])
    assert letter_url in final
    content = b"".join(client.get(letter_url).streaming_content)
    assert hashlib.sha256(content).hexdigest() == event.payload["letter"]["sha256"]
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    assert reference in text and label in text


def _territory_pk(code):
    from territories.models import Territory

    return Territory.objects.get(code=code).pk


def test_submitting_after_the_deadline_is_refused_in_french(client):
    request = factories.derogation_in_state("draft")
    CallForProjects.objects.filter(pk=request.call_id).update(
        closes_at=timezone.now() - timedelta(minutes=1)
    )
    client.force_login(request.created_by)
    response = client.post(
        reverse("derogation-transition", args=[request.reference]),
        {"transition": "submit", "version": request.version},
        follow=True,
    )
    assert "il est clos, la demande ne peut plus être déposée" in response.content.decode()
    assert DerogationRequest.objects.get(pk=request.pk).state == "draft"


OUTSIDERS = {
    "EPCI agent of another territory": lambda: factories.epci_agent("200065597"),
    "reviewer of another Region": lambda: factories.region_reviewer("28"),
    "operator not consulted": lambda: factories.operator_agent("France Travail"),
}


@pytest.mark.parametrize("outsider", OUTSIDERS.values(), ids=OUTSIDERS.keys())
def test_outsiders_get_404_on_requests_and_opinions(client, outsider):
    request = factories.derogation_in_state("ministerial_review")
    opinion = factories_opinion(request)
    client.force_login(outsider())
    ref = request.reference
    for url in [
        reverse("derogation-detail", args=[ref]),
        reverse("derogation-edit", args=[ref]),
        reverse("opinion-answer", args=[opinion.pk]),
    ]:
        assert client.get(url).status_code == 404, url
    for url, data in [
        (reverse("derogation-transition", args=[ref]), {"transition": "forward", "version": 1}),
        (reverse("derogation-decide", args=[ref]), {"outcome": "refused"}),
        (reverse("opinion-request", args=[ref]), {}),
        (reverse("opinion-answer", args=[opinion.pk]), {"verdict": "favourable", "text": "x"}),
    ]:
        assert client.post(url, data).status_code == 404, url
    assert ref not in client.get(reverse("derogation-list")).content.decode()


def factories_opinion(request):
    from cases.derogations import services as derogations

    return derogations.opinion_request(
        case=request,
        actor=factories.ministry_agent(),
        organisation=factories.national_organisation("operator", "Bpifrance"),
        due_on=timezone.localdate() + timedelta(days=3),
        question="?",
    )


def test_the_real_call_is_loaded_with_the_dates_of_the_sources(capsys):
    call_command("load_calls")
    call = CallForProjects.objects.get(name="France Expérimentation – Territoires d'industrie")
    with (DEFAULT_DATA_DIR / "territoires_industrie_jalons.csv").open(encoding="utf-8") as handle:
        launch = next(
            row
            for row in csv.DictReader(handle)
            if "France Expérimentation – Territoires" in row["evenement"]
        )
    assert call.opens_at.astimezone(PARIS).date().isoformat() == launch["date"]
    last_day = call.closes_at.astimezone(PARIS) - timedelta(seconds=1)
    assert last_day.strftime("%d/%m/%Y") in launch["evenement"]
    call_command("load_calls")
    assert "déjà à jour" in capsys.readouterr().out


def test_call_page_shows_its_deadline(client):
    call = factories.open_call()
    client.force_login(factories.epci_agent("200000172"))
    html = page(client, reverse("call-detail", args=[call.pk]))
    assert "Clôture dans" in html and 'id="countdown"' in html


def test_comments_and_documents_work_on_requests(client):
    request = factories.derogation_in_state("regional_review")
    client.force_login(factories.region_reviewer("84"))
    response = client.post(
        reverse("derogation-comment-create", args=[request.reference]),
        {"body": "Pouvez-vous préciser le calendrier ?"},
        follow=True,
    )
    assert "Pouvez-vous préciser le calendrier ?" in response.content.decode()
    assert response.redirect_chain[-1][0].startswith(
        reverse("derogation-detail", args=[request.reference])
    )


def test_a_request_edited_meanwhile_comes_back_with_both_changes(client):
    """A number the colleague changed comes into the form; the text this agent typed stays."""
    from cases.derogations import services as derogations
    from tests.cases.contracts.test_http_life import form_fields

    request = factories.derogation_in_state("draft")
    url = reverse("derogation-edit", args=[request.reference])
    client.force_login(factories.epci_agent("200000172"))
    typed = {**form_fields(client.get(url)), "justification": "Un site en friche à reprendre."}
    derogations.derogation_update(
        case=request,
        actor=factories.epci_agent("200033116"),
        expected_version=request.version,
        changes={"expected_jobs": 42},
    )
    refused = client.post(url, typed)
    assert refused.status_code == 409
    returned = form_fields(refused)
    assert (returned["expected_jobs"], returned["justification"]) == (
        "42",
        "Un site en friche à reprendre.",
    )
    assert client.post(url, returned).status_code == 302
    saved = DerogationRequest.objects.get(pk=request.pk)
    assert (saved.expected_jobs, saved.justification) == (42, "Un site en friche à reprendre.")
