"""A contract's versions and signatures over the API: what its page shows, to whom it shows it."""

import hashlib
import json

import pytest

from tests import factories
from tests.api.test_reads import api, rows
from tests.cases.contracts.test_amendment_rules import amendment_in_state, withdrawn_then_redone

pytestmark = pytest.mark.django_db


def test_versions_and_their_signed_content(client):
    amendment = amendment_in_state("signed")
    contract = amendment.parent
    user = factories.epci_agent("200000172")
    listed = rows(api(client, user, f"/api/v1/contracts/{contract.reference}/versions/"))
    assert [(row["number"], row["amendment"]) for row in listed] == [
        (1, None),
        (2, amendment.reference),
    ]
    assert listed[1]["page"].endswith(f"/contrats/{contract.reference}/versions/2/")
    answer = api(client, user, f"/api/v1/contracts/{contract.reference}/versions/2/")
    body = answer.json()
    version = contract.versions.get(number=2)
    assert body["content_hash"] == version.content_hash
    # The content is what was hashed: a client can check the hash itself.
    canonical = json.dumps(
        body["content"], sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    assert hashlib.sha256(canonical.encode()).hexdigest() == version.content_hash
    amounts = [line["amount"] for a in body["content"]["actions"] for line in a["financings"]]
    assert "60000.00" in amounts
    assert body["committed_total"] == "135000.00"


def test_signatures_version_by_version_with_those_an_avenant_awaits(client):
    amendment = amendment_in_state("signed_off")
    contract = amendment.parent
    user = factories.region_reviewer("84")
    signatures = rows(api(client, user, f"/api/v1/contracts/{contract.reference}/signatures/"))
    first = [s for s in signatures if s["version"] == 1]
    assert first and all(s["signed"] and s["signed_on"] for s in first)
    assert {s["party"] for s in first} >= {"epci", "region", "state", "operator"}
    awaited = [s for s in signatures if s["amendment"] == amendment.reference]
    assert {(s["party"], s["party_ref"], s["signed"]) for s in awaited} == {
        ("operator", "bpifrance", False),
        ("region", "84", False),
    }
    assert all(s["version"] == 2 for s in awaited)


@pytest.mark.parametrize(
    "path", ["versions/", "versions/1/", "signatures/"], ids=["versions", "version", "signatures"]
)
@pytest.mark.parametrize(
    "outsider",
    [
        lambda: factories.epci_agent("200065597"),
        lambda: factories.region_reviewer("28"),
        lambda: factories.operator_agent("Business France"),
    ],
    ids=["EPCI elsewhere", "another Region", "operator without a line"],
)
def test_outside_the_contract_every_read_is_a_404(client, path, outsider):
    contract = factories.signed_contract()
    answer = api(client, outsider(), f"/api/v1/contracts/{contract.reference}/{path}")
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/problem+json"


def test_before_its_wave_a_contract_has_no_version(client):
    contract = factories.contract_in_state("signed_off")
    user = factories.ministry_agent()
    assert rows(api(client, user, f"/api/v1/contracts/{contract.reference}/versions/")) == []
    assert rows(api(client, user, f"/api/v1/contracts/{contract.reference}/signatures/")) == []
    answer = api(client, user, f"/api/v1/contracts/{contract.reference}/versions/1/")
    assert answer.status_code == 404


def test_a_withdrawn_avenants_signatories_are_not_listed(client):
    first, second, contract = withdrawn_then_redone()
    user = factories.region_reviewer("84")
    signatures = rows(api(client, user, f"/api/v1/contracts/{contract.reference}/signatures/"))
    assert first.reference not in {s["amendment"] for s in signatures}
    assert {s["amendment"] for s in signatures if s["version"] == 2} == {second.reference}
