"""Contracts through the API: the pages' scope (404 outside it), filters and refusals, the
fiches-actions and their lines, the version as an ETag, cursor pages."""

import pytest

from api import tokens
from tests import factories

pytestmark = pytest.mark.django_db

LIST = "/api/v1/contracts/"


def api(client, user, path, **params):
    _, secret = tokens.token_create(actor=user, name="Test", lifetime_days=30, read_only=True)
    return client.get(path, params, HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def contract():
    return factories.contract_in_state("regional_review")


def references(answer) -> list[str]:
    assert answer.status_code == 200, answer.content
    return [row["reference"] for row in answer.json()["results"]]


INSIDERS = {
    "EPCI agent of the territory": lambda: factories.epci_agent("200000172"),
    "reviewer of the pilot Region": lambda: factories.region_reviewer("84"),
    "ministry agent": factories.ministry_agent,
    "steering member": factories.steering_member,
    "operator asked for money": lambda: factories.operator_agent("Bpifrance"),
}
OUTSIDERS = {
    "EPCI agent of another territory": lambda: factories.epci_agent("200065597"),
    "reviewer of another Region": lambda: factories.region_reviewer("28"),
    "operator neither consulted nor funder": lambda: factories.operator_agent("Business France"),
}


@pytest.mark.parametrize("who", INSIDERS)
def test_whoever_sees_the_contract_on_its_page_reads_it_through_the_api(client, contract, who):
    user = INSIDERS[who]()
    assert contract.reference in references(api(client, user, LIST))
    answer = api(client, user, f"{LIST}{contract.reference}/")
    assert answer.status_code == 200
    body = answer.json()
    assert body["state"] == "regional_review" and body["version"] == contract.version
    assert body["territory"]["code"] == "8414"
    [action] = body["actions"]
    assert action["total_cost"] == "100000.00"
    [line] = action["financings"]
    assert (line["funder"], line["amount"], line["status"]) == (
        "bpifrance",
        "40000.00",
        "requested",
    )
    assert body["page"].endswith(contract.get_absolute_url())


@pytest.mark.parametrize("who", OUTSIDERS)
def test_a_contract_outside_the_tokens_scope_is_a_404_and_absent_from_the_list(
    client, contract, who
):
    user = OUTSIDERS[who]()
    assert contract.reference not in references(api(client, user, LIST))
    answer = api(client, user, f"{LIST}{contract.reference}/")
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json() == {
        "type": "about:blank",
        "title": "Introuvable",
        "status": 404,
        "detail": "Introuvable, ou hors de votre périmètre.",
    }


def test_the_version_is_the_etag_and_an_unchanged_contract_is_a_304(client, contract):
    _, secret = tokens.token_create(
        actor=factories.ministry_agent(), name="Test", lifetime_days=30, read_only=True
    )
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    first = client.get(f"{LIST}{contract.reference}/", **auth)
    etag = first["ETag"]
    assert etag == f'"{contract.pk}.{contract.version}"'
    unchanged = client.get(f"{LIST}{contract.reference}/", HTTP_IF_NONE_MATCH=etag, **auth)
    assert unchanged.status_code == 304
    from cases.kernel import services

    services.case_approve(case=contract, actor=factories.region_reviewer("84"))
    changed = client.get(f"{LIST}{contract.reference}/", HTTP_IF_NONE_MATCH=etag, **auth)
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_the_list_filters_are_those_of_the_list_page(client):
    in_review = factories.contract_in_state("regional_review")
    draft = factories.contract_in_state("draft", territory_code="8414")
    other_region = factories.contract_in_state("regional_review", territory_code="2801")
    ministry = factories.ministry_agent()
    assert set(references(api(client, ministry, LIST, state="draft"))) == {draft.reference}
    region = other_region.territory.pilot_region_id
    assert references(api(client, ministry, LIST, region=region)) == [other_region.reference]
    everything = references(api(client, ministry, LIST))
    assert {in_review.reference, draft.reference, other_region.reference} <= set(everything)


def test_an_unknown_filter_value_is_a_french_400_naming_the_parameter(client):
    answer = api(client, factories.ministry_agent(), LIST, state="envolé", region="abc")
    assert answer.status_code == 400
    body = answer.json()
    assert body["errors"]["state"] == ["Choisissez un état de la liste."]
    assert "region" in body["errors"]
    assert body["detail"].startswith("Certaines valeurs sont invalides")


def test_a_region_outside_the_users_scope_is_refused_as_on_the_page(client):
    other = factories.contract_in_state("regional_review", territory_code="2801")
    answer = api(
        client, factories.region_reviewer("84"), LIST, region=other.territory.pilot_region_id
    )
    assert answer.status_code == 400
    assert "region" in answer.json()["errors"]


def test_updated_since_keeps_the_recent_contracts_and_refuses_a_date_without_zone(client):
    contract = factories.contract_in_state("regional_review")
    ministry = factories.ministry_agent()
    later = (contract.updated_at).isoformat()
    assert contract.reference in references(api(client, ministry, LIST, updated_since=later))
    future = "2100-01-01T00:00:00+01:00"
    assert references(api(client, ministry, LIST, updated_since=future)) == []
    refused = api(client, ministry, LIST, updated_since="2019-03-05T09:00:00")
    assert refused.status_code == 400 and "updated_since" in refused.json()["errors"]


def test_the_cursor_walks_every_contract_once(client):
    made = {factories.contract_in_state("draft").reference for _ in range(5)}
    _, secret = tokens.token_create(
        actor=factories.ministry_agent(), name="Test", lifetime_days=30, read_only=True
    )
    seen: list[str] = []
    url = f"{LIST}?page_size=2"
    while url:
        answer = client.get(url, HTTP_AUTHORIZATION=f"Bearer {secret}")
        seen += references(answer)
        url = answer.json()["next"]
    assert made <= set(seen) and len(seen) == len(set(seen))
    broken = client.get(f"{LIST}?cursor=pas-un-curseur", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert broken.status_code == 404
    assert broken.json()["detail"] == "Introuvable, ou hors de votre périmètre."


@pytest.mark.parametrize(
    "path",
    ["/api/v1/nulle-part/", "/api/v1/contracts/CT%0A1/actions/-3/", "/api/v1/a%0Ab%0D/"],
    ids=["unknown", "newline in a reference (the fuzzer's find)", "newline and return"],
)
def test_an_unknown_api_address_is_a_problem_not_a_page(client, path):
    answer = api(client, factories.ministry_agent(), path)
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/problem+json"


def test_the_browsers_session_reads_the_api_too(client, contract):
    client.force_login(factories.region_reviewer("84"))
    assert contract.reference in references(client.get(LIST))
