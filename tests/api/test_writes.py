"""Writes through the API: always the services, their rules and French messages; If-Match
on every write to a case (428 without it, 412 when stale); a read-only token writes nothing."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from api import tokens
from cases.models import Case, CaseEvent, Comment
from territories.models import Territory
from tests import factories

pytestmark = pytest.mark.django_db

CONTRACTS = "/api/v1/contracts/"


def auth(user, *, read_only: bool = False) -> dict:
    _, secret = tokens.token_create(actor=user, name="Outil", lifetime_days=30, read_only=read_only)
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def etag(case) -> str:
    case.refresh_from_db()
    return f'"{case.pk}.{case.version}"'


def post(client, path, data, headers):
    return client.post(path, data, content_type="application/json", **headers)


def patch(client, path, data, headers):
    return client.patch(path, data, content_type="application/json", **headers)


def test_an_epci_agent_creates_a_draft_contract_through_the_service(client):
    agent = factories.epci_agent("200000172")
    territory = Territory.objects.get(code="8414")
    answer = post(
        client,
        CONTRACTS,
        {
            "territory": territory.pk,
            "title": "Contrat Vallée de la chimie",
            "period_start": "2019-03-05",
        },
        auth(agent),
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    created = Case.objects.get(reference=body["reference"])
    assert (body["state"], created.state, created.created_by) == ("draft", "draft", agent)
    assert answer["ETag"] == f'"{created.pk}.{created.version}"'
    assert answer["Location"].endswith(f"{CONTRACTS}{created.reference}/")
    assert CaseEvent.objects.filter(case=created, kind="creation").count() == 1


def test_only_the_territorys_epci_agents_create_its_contract(client):
    territory = Territory.objects.get(code="8414")
    answer = post(
        client, CONTRACTS, {"territory": territory.pk}, auth(factories.region_reviewer("84"))
    )
    assert answer.status_code == 403
    assert answer.json()["detail"] == (
        "Seuls les agents d'une intercommunalité du territoire peuvent créer son contrat."
    )
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"territory": 999_999}, "territory"),
        ({"territory": "TERRITORY", "title": "x"}, "territory"),
        ({"period_start": "5 mars"}, "period_start"),
        ({"title": "Contrat\u202e"}, "title"),
        ({"title": "x" * 301}, "title"),
    ],
)
def test_bad_input_is_a_french_400_on_its_field_and_creates_nothing(client, data, field):
    territory = Territory.objects.get(code="8414")
    answer = post(
        client,
        CONTRACTS,
        {"territory": territory.pk, **data},
        auth(factories.epci_agent("200000172")),
    )
    assert answer.status_code == 400, answer.content
    assert field in answer.json()["errors"]
    assert answer["Content-Type"] == "application/problem+json"
    assert not Case.objects.exists()


def test_error_texts_have_french_spacing_as_a_client_shows_them(client):
    """A tool shows ``detail`` and ``errors`` to its users as they are: no-break spaces
    before « : » and inside « », as on the pages."""
    answer = post(
        client, CONTRACTS, {"territory": 999_999}, auth(factories.epci_agent("200000172"))
    )
    body = answer.json()
    assert body["detail"] == "Certaines valeurs sont invalides\u00a0: territory."
    assert body["errors"] == {"territory": ["Territoire inconnu\u00a0: 999999."]}
    malformed = client.get(CONTRACTS, HTTP_AUTHORIZATION="Bearer")
    assert malformed.json()["detail"] == (
        "En-tête Authorization mal formé\u00a0: attendu «\u00a0Bearer <jeton>\u00a0»."
    )


def test_an_edit_needs_if_match_and_a_stale_one_gets_the_pages_message(client):
    agent = factories.epci_agent("200000172")
    contract = factories.contract_in_state("draft", author=agent)
    headers = auth(agent)
    path = f"{CONTRACTS}{contract.reference}/"
    missing = patch(client, path, {"title": "Nouveau"}, headers)
    assert missing.status_code == 428
    assert missing.json()["detail"].startswith("En-tête If-Match manquant")
    other = factories.contract_in_state("draft", author=agent)
    foreign = patch(client, path, {"title": "Nouveau"}, {**headers, "HTTP_IF_MATCH": etag(other)})
    assert foreign.status_code == 412
    read = etag(contract)
    done = patch(client, path, {"title": "Nouveau"}, {**headers, "HTTP_IF_MATCH": read})
    assert done.status_code == 200 and done.json()["title"] == "Nouveau"
    assert done["ETag"] == etag(contract) != read
    stale = patch(client, path, {"title": "Encore"}, {**headers, "HTTP_IF_MATCH": read})
    assert stale.status_code == 412
    assert stale.json()["detail"].startswith("Ce dossier vient d'être modifié par")
    contract.refresh_from_db()
    assert contract.title == "Nouveau"


def test_transitions_are_listed_and_made_by_whoever_may_make_them(client):
    agent, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    contract = factories.contract_in_state("draft", author=agent)
    path = f"/api/v1/cases/{contract.reference}/transitions/"
    listed = client.get(path, **auth(agent)).json()
    assert {row["name"] for row in listed} == {"submit", "withdraw"}
    assert {"name": "submit", "title": "déposer le dossier", "comment_required": False} in listed
    early = post(
        client, path, {"name": "approve"}, {**auth(reviewer), "HTTP_IF_MATCH": etag(contract)}
    )
    assert early.status_code in (403, 409) and early.json()["detail"]
    submitted = post(
        client, path, {"name": "submit"}, {**auth(agent), "HTTP_IF_MATCH": etag(contract)}
    )
    assert submitted.status_code == 200, submitted.content
    assert submitted.json()["state"] == "regional_review"
    assert submitted["ETag"] == etag(contract)
    approved = post(
        client, path, {"name": "approve"}, {**auth(reviewer), "HTTP_IF_MATCH": etag(contract)}
    )
    assert approved.json()["state"] == "ministerial_review"
    assert list(
        CaseEvent.objects.filter(case=contract, kind="transition").values_list("name", "actor")
    ) == [("submit", agent.pk), ("approve", reviewer.pk)]


@pytest.mark.parametrize(
    ("name", "comment", "status", "start"),
    [
        ("request_changes", "", 400, None),
        ("fly_away", "", 409, "Action inconnue pour ce dossier"),
        ("decide", "", 409, "Action inconnue pour ce dossier"),
        ("contractualise", "", 409, "Action inconnue pour ce dossier"),
    ],
)
def test_a_refused_transition_says_why_in_french_and_changes_nothing(
    client, name, comment, status, start
):
    contract = factories.contract_in_state("regional_review")
    before = etag(contract)
    answer = post(
        client,
        f"/api/v1/cases/{contract.reference}/transitions/",
        {"name": name, "comment": comment},
        {**auth(factories.region_reviewer("84")), "HTTP_IF_MATCH": before},
    )
    assert answer.status_code == status, answer.content
    if start:
        assert answer.json()["detail"].startswith(start)
    assert etag(contract) == before


def test_a_case_outside_scope_is_a_404_for_writes_too(client):
    contract = factories.contract_in_state("regional_review")
    outsider = factories.region_reviewer("28")
    for path, data in (
        (f"/api/v1/cases/{contract.reference}/transitions/", {"name": "approve"}),
        (f"/api/v1/cases/{contract.reference}/comments/", {"body": "Bonjour"}),
    ):
        answer = post(client, path, data, {**auth(outsider), "HTTP_IF_MATCH": etag(contract)})
        assert answer.status_code == 404
    answer = patch(
        client,
        f"{CONTRACTS}{contract.reference}/",
        {"title": "x"},
        {**auth(outsider), "HTTP_IF_MATCH": etag(contract)},
    )
    assert answer.status_code == 404
    assert etag(contract) == f'"{contract.pk}.{contract.version}"'
    assert not Comment.objects.exists()


def test_a_read_only_token_writes_nothing(client):
    agent = factories.epci_agent("200000172")
    contract = factories.contract_in_state("draft", author=agent)
    answer = post(
        client,
        f"/api/v1/cases/{contract.reference}/transitions/",
        {"name": "submit"},
        {**auth(agent, read_only=True), "HTTP_IF_MATCH": etag(contract)},
    )
    assert answer.status_code == 403
    contract.refresh_from_db()
    assert contract.state == "draft"


def test_comments_and_internal_notes_follow_the_pages_rules(client):
    agent, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    contract = factories.contract_in_state("regional_review", author=agent)
    path = f"/api/v1/cases/{contract.reference}/comments/"
    said = post(
        client,
        path,
        {"body": "Pièce jointe envoyée."},
        {**auth(agent), "HTTP_IF_MATCH": etag(contract)},
    )
    assert said.status_code == 201 and said.json()["body"] == "Pièce jointe envoyée."
    note = post(
        client,
        path,
        {"body": "Interne", "private": True},
        {**auth(agent), "HTTP_IF_MATCH": etag(contract)},
    )
    assert note.status_code == 403
    assert note.json()["detail"] == "Les notes internes sont réservées à la Région et au ministère."
    kept = post(
        client,
        path,
        {"body": "Interne", "private": True},
        {**auth(reviewer), "HTTP_IF_MATCH": etag(contract)},
    )
    assert kept.status_code == 201
    assert list(Comment.objects.order_by("pk").values_list("private", flat=True)) == [False, True]


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_writes_on_one_version_one_wins():
    factories.ensure_reference_data()
    agent = factories.epci_agent("200000172")
    contract = factories.contract_in_state("draft", author=agent)
    headers = {**auth(agent), "HTTP_IF_MATCH": etag(contract)}
    start = threading.Barrier(20)

    def write(number: int) -> int:
        try:
            start.wait(timeout=60)
            answer = Client().patch(
                f"{CONTRACTS}{contract.reference}/",
                {"title": f"Version {number}"},
                content_type="application/json",
                **headers,
            )
            return answer.status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(write, range(20)))
    assert sorted(statuses) == [200] + [412] * 19, statuses
    contract.refresh_from_db()
    assert contract.version == int(headers["HTTP_IF_MATCH"].strip('"').split(".")[1]) + 1
    assert CaseEvent.objects.filter(case=contract, kind="edit", name="update").count() == 1
