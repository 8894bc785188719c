"""Avenants over the API: read as on their page, moved through the cases' transitions."""

import pytest

from cases.contracts.models import ContractAmendment
from tests import factories
from tests.api.test_reads import api, references, rows
from tests.api.test_writes import auth, etag, post
from tests.cases.contracts.test_amendment_rules import amendment_in_state
from tests.cases.contracts.test_amendments import epci_author

pytestmark = pytest.mark.django_db


def test_an_avenant_with_what_it_proposes_and_its_changes(client):
    amendment = amendment_in_state("regional_review")
    reviewer = factories.region_reviewer("84")
    listed = api(client, reviewer, "/api/v1/amendments/", contract=amendment.parent.reference)
    assert references(listed) == [amendment.reference]
    assert rows(listed)[0]["contract"] == amendment.parent.reference
    answer = api(client, reviewer, f"/api/v1/amendments/{amendment.reference}/")
    assert answer["ETag"] == f'"{amendment.pk}.{amendment.version}"'
    body = answer.json()
    assert (body["state"], body["number"], body["base_version"]) == ("regional_review", 1, 1)
    assert body["page"].endswith(f"/avenants/{amendment.reference}/")
    changes = body["changes"]
    kinds = sorted(change["kind"] for change in changes["actions"])
    assert kinds == ["added", "changed"]
    bpifrance = next(f for f in changes["funders"] if f["funder"] == "bpifrance")
    # Amounts as text, never a float.
    assert (bpifrance["before"], bpifrance["after"], bpifrance["change"]) == (
        "40000.00",
        "60000.00",
        "20000.00",
    )
    assert len(body["proposal"]["actions"]) == 2
    # Its history, as any case's.
    events = rows(api(client, reviewer, f"/api/v1/cases/{amendment.reference}/events/"))
    assert [event["name"] for event in events][:1] == ["create"]


def test_a_draft_avenant_is_its_epcis_own_until_submitted(client):
    amendment = amendment_in_state("draft")
    operator = factories.operator_agent("Bpifrance")  # funds the contract
    assert amendment.reference not in references(api(client, operator, "/api/v1/amendments/"))
    assert api(client, operator, f"/api/v1/amendments/{amendment.reference}/").status_code == 404
    assert api(client, operator, f"/api/v1/cases/{amendment.reference}/events/").status_code == 404
    author = epci_author(amendment.parent)
    assert amendment.reference in references(api(client, author, "/api/v1/amendments/"))


@pytest.mark.parametrize(
    "outsider",
    [lambda: factories.epci_agent("200065597"), lambda: factories.region_reviewer("28")],
    ids=["EPCI elsewhere", "another Region"],
)
def test_outside_its_territory_an_avenant_is_a_404_and_absent(client, outsider):
    amendment = amendment_in_state("ministerial_review")
    user = outsider()
    assert amendment.reference not in references(api(client, user, "/api/v1/amendments/"))
    for path in (
        f"/api/v1/amendments/{amendment.reference}/",
        f"/api/v1/cases/{amendment.reference}/events/",
        f"/api/v1/cases/{amendment.reference}/transitions/",
    ):
        answer = api(client, user, path)
        assert answer.status_code == 404, path
        assert answer["Content-Type"] == "application/problem+json"


def test_the_region_approves_an_avenant_through_the_cases_transitions(client):
    amendment = amendment_in_state("regional_review")
    headers = auth(factories.region_reviewer("84"))
    path = f"/api/v1/cases/{amendment.reference}/transitions/"
    offered = client.get(path, **headers).json()
    assert "approve" in [row["name"] for row in offered]
    # Without the version read: refused, nothing changed.
    assert post(client, path, {"name": "approve"}, headers).status_code == 428
    headers["HTTP_IF_MATCH"] = etag(amendment)
    answer = post(client, path, {"name": "approve"}, headers)
    assert answer.status_code == 200, answer.content
    assert answer.json()["state"] == "ministerial_review"
    assert ContractAmendment.objects.get(pk=amendment.pk).state == "ministerial_review"


def test_an_avenant_cannot_be_enacted_by_its_name(client):
    """Its signatures apply it, nothing else: « enact » by name is refused."""
    amendment = amendment_in_state("signed_off")
    headers = auth(factories.ministry_agent())
    headers["HTTP_IF_MATCH"] = etag(amendment)
    path = f"/api/v1/cases/{amendment.reference}/transitions/"
    answer = post(client, path, {"name": "enact"}, headers)
    assert answer.status_code == 409, answer.content
    assert answer.json()["detail"] == "Action inconnue pour ce dossier\u00a0: appliquer l'avenant."
    assert ContractAmendment.objects.get(pk=amendment.pk).state == "signed_off"
