"""Reads beyond contracts: derogation requests, calls, waves, a case's history and documents,
the user's notifications. The pages' scope everywhere: outside it, a 404 or absent."""

from itertools import pairwise

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from api import tokens
from cases.kernel import services
from notifications.models import Notification
from tests import factories

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def api(client, user, path, **params):
    _, secret = tokens.token_create(actor=user, name="Test", lifetime_days=30, read_only=True)
    return client.get(path, params, HTTP_AUTHORIZATION=f"Bearer {secret}")


def rows(answer) -> list[dict]:
    assert answer.status_code == 200, answer.content
    return answer.json()["results"]


def references(answer) -> list[str]:
    return [row["reference"] for row in rows(answer)]


INSIDERS = {
    "EPCI agent of the territory": lambda: factories.epci_agent("200000172"),
    "reviewer of the pilot Region": lambda: factories.region_reviewer("84"),
    "ministry agent": factories.ministry_agent,
}
OUTSIDERS = {
    "EPCI agent of another territory": lambda: factories.epci_agent("200065597"),
    "reviewer of another Region": lambda: factories.region_reviewer("28"),
}


@pytest.fixture
def derogation():
    return factories.derogation_in_state("ministerial_review")


@pytest.mark.parametrize("who", INSIDERS)
def test_a_derogation_request_is_read_by_whoever_sees_its_page(client, derogation, who):
    user = INSIDERS[who]()
    assert derogation.reference in references(api(client, user, "/api/v1/derogations/"))
    answer = api(client, user, f"/api/v1/derogations/{derogation.reference}/")
    body = answer.json()
    assert answer["ETag"] == f'"{derogation.pk}.{derogation.version}"'
    assert (body["state"], body["region_opinion"]) == ("ministerial_review", "favourable")
    assert body["call"]["name"] == "Appel de test"
    assert body["rule_reference"] == "Code de l'environnement, art. R. 122-2"


@pytest.mark.parametrize("who", OUTSIDERS)
def test_a_derogation_request_outside_the_scope_is_a_404_and_absent(client, derogation, who):
    user = OUTSIDERS[who]()
    assert derogation.reference not in references(api(client, user, "/api/v1/derogations/"))
    answer = api(client, user, f"/api/v1/derogations/{derogation.reference}/")
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/problem+json"


def test_derogation_filters_are_the_list_pages(client, derogation):
    draft = factories.derogation_in_state("draft")
    minister = factories.ministry_agent()
    found = references(api(client, minister, "/api/v1/derogations/", state="draft"))
    assert draft.reference in found and derogation.reference not in found
    refused = api(client, minister, "/api/v1/derogations/", state="nowhere")
    assert refused.status_code == 400
    assert refused.json()["errors"] == {"state": ["Choisissez un état de la liste."]}


def test_calls_are_read_by_every_signed_in_user(client, derogation):
    outsider = factories.epci_agent("200065597")
    [call] = rows(api(client, outsider, "/api/v1/calls/"))
    assert call["name"] == "Appel de test"
    assert api(client, outsider, f"/api/v1/calls/{call['id']}/").json()["id"] == call["id"]
    assert client.get("/api/v1/calls/").status_code == 401


def test_a_wave_shows_each_party_its_own_contracts_only(client):
    wave, minister = factories.wave_of(2)
    first, second = wave.items.order_by("pk").values_list("contract__reference", flat=True)
    everything = api(client, minister, f"/api/v1/waves/{wave.pk}/").json()
    assert everything["contracts"] == [first, second]
    territory = factories.contract_in_state("draft", territory_code="8401").territory
    agent = factories.epci_agent(territory.intercommunalities.order_by("siren").first().siren)
    [shown] = rows(api(client, agent, "/api/v1/waves/"))
    assert (shown["id"], shown["contract_count"]) == (wave.pk, 1)
    assert api(client, agent, f"/api/v1/waves/{wave.pk}/").json()["contracts"] == [first]
    outsider = factories.epci_agent("200065597")
    assert rows(api(client, outsider, "/api/v1/waves/")) == []
    assert api(client, outsider, f"/api/v1/waves/{wave.pk}/").status_code == 404


def test_the_history_carries_its_hash_chain_and_hides_internal_notes(client):
    contract = factories.contract_in_state("regional_review")
    region = factories.region_reviewer("84")
    services.comment_add(case=contract, actor=region, body="Note interne", private=True)
    path = f"/api/v1/cases/{contract.reference}/events/"
    events = rows(api(client, region, path))
    assert [event["seq"] for event in events] == list(range(1, len(events) + 1))
    for earlier, later in pairwise(events):
        assert later["prev_hash"] == earlier["hash"]
    assert events[-1]["private"] and events[-1]["kind"] == "comment"
    agent = factories.epci_agent("200000172")
    assert [event["seq"] for event in rows(api(client, agent, path))] == [
        event["seq"] for event in events if not event["private"]
    ]
    outsider = factories.epci_agent("200065597")
    assert api(client, outsider, path).status_code == 404


def test_documents_are_listed_and_downloaded_in_the_cases_scope(client):
    contract = factories.contract_in_state("regional_review")
    agent = factories.epci_agent("200000172")
    document = services.document_add(
        case=contract, actor=agent, upload=SimpleUploadedFile("annexe.pdf", PDF)
    )
    region = factories.region_reviewer("84")
    [listed] = rows(api(client, region, f"/api/v1/cases/{contract.reference}/documents/"))
    assert (listed["id"], listed["original_name"], listed["size"]) == (
        document.pk,
        "annexe.pdf",
        len(PDF),
    )
    assert listed["download"].endswith(f"/api/v1/documents/{document.pk}/content/")
    assert api(client, region, f"/api/v1/documents/{document.pk}/").json() == listed
    content = api(client, region, f"/api/v1/documents/{document.pk}/content/")
    assert b"".join(content.streaming_content) == PDF
    assert content["X-Content-Type-Options"] == "nosniff"
    assert content["Content-Type"] == "application/pdf"
    assert "attachment" in content["Content-Disposition"]
    outsider = factories.region_reviewer("28")
    for path in (
        f"/api/v1/cases/{contract.reference}/documents/",
        f"/api/v1/documents/{document.pk}/",
        f"/api/v1/documents/{document.pk}/content/",
    ):
        assert api(client, outsider, path).status_code == 404, path


def test_a_document_whose_file_is_gone_is_a_404_not_a_server_error(client, caplog):
    contract = factories.contract_in_state("regional_review")
    agent = factories.epci_agent("200000172")
    document = services.document_add(
        case=contract, actor=agent, upload=SimpleUploadedFile("annexe.pdf", PDF)
    )
    document.file.storage.delete(document.file.name)
    answer = api(client, agent, f"/api/v1/documents/{document.pk}/content/")
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/problem+json"
    assert "introuvable" in answer.json()["detail"].lower()
    client.force_login(agent)
    assert client.get(reverse("document-download", args=[document.pk])).status_code == 404
    assert f"document {document.pk}" in caplog.text


def test_notifications_are_the_users_own_and_replay_after_an_id(client):
    region = factories.region_reviewer("84")
    contract = factories.contract_in_state("regional_review")
    services.comment_add(case=contract, actor=factories.epci_agent("200000172"), body="Relance")
    mine = list(Notification.objects.filter(recipient=region).order_by("id"))
    assert len(mine) >= 2, "the submission and the comment tell the pilot Region's reviewers"
    shown = rows(api(client, region, "/api/v1/notifications/"))
    assert [row["id"] for row in shown] == [row.pk for row in reversed(mine)]
    assert shown[0]["case"] is not None
    after = rows(api(client, region, "/api/v1/notifications/", since=mine[0].pk))
    assert [row["id"] for row in after] == [row.pk for row in reversed(mine[1:])]
    refused = api(client, region, "/api/v1/notifications/", since="hier")
    assert refused.status_code == 400 and "since" in refused.json()["errors"]
    stranger = factories.region_reviewer("28")
    assert rows(api(client, stranger, "/api/v1/notifications/")) == []
