"""The writes beyond a contract's draft: derogation requests (drafts, the Region's opinion,
consultations, the decision), fiches-actions, funders' answers and documents. Always the
services, their rules and French messages, with If-Match; refused writes change nothing."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Organisation
from cases.contracts.models import ActionSheet, FinancingLine
from cases.models import CaseEvent, Document, Opinion
from tests import factories
from tests.api.test_writes import auth, etag, patch, post

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_an_epci_agent_drafts_and_edits_a_derogation_request(client):
    agent = factories.epci_agent("200000172")
    territory = factories.contract_in_state("draft").territory
    call = factories.open_call()
    created = post(
        client,
        "/api/v1/derogations/",
        {"territory": territory.pk, "call": call.pk, "rule_kind": "decree", "title": "Essai"},
        auth(agent),
    )
    assert created.status_code == 201, created.content
    reference = created.json()["reference"]
    path = f"/api/v1/derogations/{reference}/"
    changed = patch(
        client,
        path,
        {"duration_months": 24, "expected_investment": "1500000.00"},
        {**auth(agent), "HTTP_IF_MATCH": created["ETag"]},
    )
    assert changed.status_code == 200, changed.content
    assert (changed.json()["duration_months"], changed.json()["expected_investment"]) == (
        24,
        "1500000.00",
    )
    too_short = patch(
        client, path, {"duration_months": 2}, {**auth(agent), "HTTP_IF_MATCH": changed["ETag"]}
    )
    assert too_short.status_code == 400
    assert "duration_months" in too_short.json()["errors"]
    outsider = factories.epci_agent("200065597")
    hidden = patch(client, path, {"title": "x"}, {**auth(outsider), "HTTP_IF_MATCH": '"1.1"'})
    assert hidden.status_code == 404


def test_the_region_gives_its_opinion_and_nobody_else_can(client):
    derogation = factories.derogation_in_state("regional_review")
    path = f"/api/v1/derogations/{derogation.reference}/region-opinion/"
    data = {"opinion": "favourable", "reasons": "Projet structurant pour la vallée."}
    agent = factories.epci_agent("200000172")
    refused = post(client, path, data, {**auth(agent), "HTTP_IF_MATCH": etag(derogation)})
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Seule la Région pilote du territoire donne cet avis."
    region = factories.region_reviewer("84")
    given = post(client, path, data, {**auth(region), "HTTP_IF_MATCH": etag(derogation)})
    assert given.status_code == 200, given.content
    assert given.json()["region_opinion"] == "favourable"
    stale = post(client, path, data, {**auth(region), "HTTP_IF_MATCH": f'"{derogation.pk}.1"'})
    assert stale.status_code == 412


def test_the_ministry_decides_with_the_pages_rules_and_the_letter_is_a_document(client):
    derogation = factories.derogation_in_state("ministerial_review")
    path = f"/api/v1/derogations/{derogation.reference}/decision/"
    minister = factories.ministry_agent()
    headers = {**auth(minister), "HTTP_IF_MATCH": etag(derogation)}
    incomplete = post(
        client,
        path,
        {"outcome": "granted", "motivation": "Utile", "legal_basis": "Article 37-1"},
        headers,
    )
    assert incomplete.status_code == 400, incomplete.content
    assert incomplete.json()["detail"].startswith("La décision est incomplète")
    derogation.refresh_from_db()
    assert (derogation.state, derogation.outcome) == ("ministerial_review", "")
    decided = post(
        client,
        path,
        {"outcome": "refused", "motivation": "Pas de blocage", "legal_basis": "Article 37-1"},
        headers,
    )
    assert decided.status_code == 200, decided.content
    assert (decided.json()["state"], decided.json()["outcome"]) == ("decided", "refused")
    assert Document.objects.filter(case=derogation, original_name__startswith="decision-").exists()


def test_the_ministry_consults_an_operator_who_answers_once(client):
    derogation = factories.derogation_in_state("ministerial_review")
    minister = factories.ministry_agent()
    operator = factories.operator_agent("Bpifrance")
    bpifrance = Organisation.objects.get(name="Bpifrance")
    path = f"/api/v1/derogations/{derogation.reference}/opinions/"
    asked = post(
        client,
        path,
        {"organisation": bpifrance.pk, "due_on": "2099-01-31", "question": "Impact ?"},
        {**auth(minister), "HTTP_IF_MATCH": etag(derogation)},
    )
    assert asked.status_code == 201, asked.content
    opinion_id = asked.json()["id"]
    answer_path = f"{path}{opinion_id}/answer/"
    data = {"verdict": "favourable", "text": "Aucun risque financier."}
    answered = post(
        client, answer_path, data, {**auth(operator), "HTTP_IF_MATCH": etag(derogation)}
    )
    assert answered.status_code == 200, answered.content
    assert answered.json()["verdict"] == "favourable"
    again = post(client, answer_path, data, {**auth(operator), "HTTP_IF_MATCH": etag(derogation)})
    assert again.status_code == 409
    assert "a déjà été rendu" in again.json()["detail"]
    outsider = factories.operator_agent("Business France")
    listed = client.get(path, **auth(outsider))
    assert listed.status_code == 404
    assert Opinion.objects.get(pk=opinion_id).text == "Aucun risque financier."


def test_an_epci_agent_adds_edits_and_removes_a_fiche_action(client):
    contract = factories.contract_in_state("draft")
    agent = factories.epci_agent("200000172")
    path = f"/api/v1/contracts/{contract.reference}/actions/"
    fiche = {
        "title": "Plateforme d'essais",
        "axis": "innover",
        "project_owner": "Communauté de communes",
        "total_cost": "250000.50",
        "financings": [{"funder": "bpifrance", "amount": "100000"}],
    }
    added = post(client, path, fiche, {**auth(agent), "HTTP_IF_MATCH": etag(contract)})
    assert added.status_code == 201, added.content
    created = ActionSheet.objects.get(contract=contract, title="Plateforme d'essais")
    assert created.total_cost == Decimal("250000.50")
    assert added["ETag"] == etag(contract)
    line = created.financings.get()
    changed = client.put(
        f"{path}{created.pk}/",
        {**fiche, "financings": [{"line": line.pk, "funder": "bpifrance", "amount": "120000"}]},
        content_type="application/json",
        **auth(agent),
        HTTP_IF_MATCH=etag(contract),
    )
    assert changed.status_code == 200, changed.content
    assert FinancingLine.objects.get(pk=line.pk).amount == Decimal("120000")
    refused = post(
        client, path, {**fiche, "axis": "nowhere"}, {**auth(agent), "HTTP_IF_MATCH": etag(contract)}
    )
    assert refused.status_code == 400 and "axis" in refused.json()["errors"]
    removed = client.delete(f"{path}{created.pk}/", **auth(agent), HTTP_IF_MATCH=etag(contract))
    assert removed.status_code == 200, removed.content
    assert not ActionSheet.objects.filter(pk=created.pk).exists()
    assert CaseEvent.objects.filter(case=contract, name="action_delete").count() == 1


def test_only_the_funder_commits_its_line_and_may_decline_it(client):
    contract = factories.contract_in_state("regional_review")
    line = FinancingLine.objects.get(action__contract=contract)
    path = f"/api/v1/contracts/{contract.reference}/lines/{line.pk}/"
    data = {"amount": "35000", "committed_on": "2019-03-05"}
    agent = factories.epci_agent("200000172")
    refused = post(client, f"{path}commit/", data, {**auth(agent), "HTTP_IF_MATCH": etag(contract)})
    assert refused.status_code == 403, refused.content
    line.refresh_from_db()
    assert line.status == "requested"
    operator = factories.operator_agent("Bpifrance")
    committed = post(
        client, f"{path}commit/", data, {**auth(operator), "HTTP_IF_MATCH": etag(contract)}
    )
    assert committed.status_code == 200, committed.content
    [shown] = committed.json()["actions"][0]["financings"]
    assert (shown["status"], shown["committed_amount"]) == ("committed", "35000.00")
    declined = post(
        client,
        f"{path}decline/",
        {"note": "Hors de nos critères"},
        {**auth(operator), "HTTP_IF_MATCH": etag(contract)},
    )
    assert declined.status_code == 200, declined.content
    line.refresh_from_db()
    assert line.status == "declined"


def test_a_document_is_uploaded_by_a_party_and_refused_to_a_read_only_token(client):
    contract = factories.contract_in_state("regional_review")
    agent = factories.epci_agent("200000172")
    path = f"/api/v1/cases/{contract.reference}/documents/"

    def send(headers):
        return client.post(path, {"file": SimpleUploadedFile("annexe.pdf", PDF)}, **headers)

    read_only = send({**auth(agent, read_only=True), "HTTP_IF_MATCH": etag(contract)})
    assert read_only.status_code == 403
    missing_version = send(auth(agent))
    assert missing_version.status_code == 428
    uploaded = send({**auth(agent), "HTTP_IF_MATCH": etag(contract)})
    assert uploaded.status_code == 201, uploaded.content
    assert uploaded.json()["original_name"] == "annexe.pdf"
    outsider = factories.epci_agent("200065597")
    assert send({**auth(outsider), "HTTP_IF_MATCH": etag(contract)}).status_code == 404
    as_json = post(client, path, {"file": "x"}, {**auth(agent), "HTTP_IF_MATCH": etag(contract)})
    assert as_json.status_code == 415
    assert Document.objects.filter(case=contract).count() == 1
