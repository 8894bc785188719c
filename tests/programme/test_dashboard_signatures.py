"""The dashboard's « Signatures et avenants »: who has not signed, and amounts per version."""

from decimal import Decimal

import pytest

from cases.contracts import amendments
from programme.dashboard import stats
from tests import factories
from tests.cases.contracts.test_amendment_rules import withdrawn_then_redone
from tests.cases.contracts.test_amendments import (
    committed_contract,
    epci_author,
    raise_line_and_add_fiche,
    reviewed,
)

pytestmark = pytest.mark.django_db


def test_missing_signatures_and_amounts_per_version():
    unsigned = factories.contract_in_state("contractualised")
    amended = committed_contract()
    author = epci_author(amended)
    amendment = amendments.amendment_open(contract=amended, actor=author)
    raise_line_and_add_fiche(amendment, author)
    amendment = reviewed(amendment)
    block = stats.signatures_block(stats.NATIONAL, stats.NO_FILTERS)
    assert (block["contracts"], block["unsigned"], block["amendments_awaiting"]) == (2, 1, 1)
    epcis = unsigned.territory.intercommunalities.count()
    assert {row["party"]: row["missing"] for row in block["by_party"]} == {
        "epci": epcis,
        "region": 1,
        "state": 1,
    }
    assert [row["reference"] for row in block["waiting"]] == [unsigned.reference]
    factories.sign_all(amendment.signatures.all())
    block = stats.signatures_block(stats.NATIONAL, stats.NO_FILTERS)
    versions = {row["number"]: row for row in block["versions"]}
    assert versions[1]["contracts"] == 1 and versions[1]["change"] is None
    assert versions[2]["committed"] == Decimal("135000.00")
    assert versions[2]["change"] == Decimal("95000.00")  # 40 000 € committed before
    assert block["amendments_awaiting"] == 0


def test_the_block_is_three_queries_whatever_the_contracts(django_assert_max_num_queries):
    """The contracts waiting, the signatures' counts and the versions' amounts: one query
    each, however many contracts, parties and versions (it was seven)."""
    factories.contract_in_state("contractualised")
    amended = committed_contract()
    author = epci_author(amended)
    amendment = amendments.amendment_open(contract=amended, actor=author)
    raise_line_and_add_fiche(amendment, author)
    reviewed(amendment)
    with django_assert_max_num_queries(3):
        stats.signatures_block(stats.NATIONAL, stats.NO_FILTERS)
    factories.contract_in_state("contractualised", territory_code="2804")
    with django_assert_max_num_queries(3):
        block = stats.signatures_block(stats.NATIONAL, stats.NO_FILTERS)
    assert (block["contracts"], block["unsigned"], block["amendments_awaiting"]) == (3, 2, 1)


def test_a_withdrawn_avenants_signatories_are_not_missing():
    withdrawn_then_redone()
    block = stats.signatures_block(stats.NATIONAL, stats.NO_FILTERS)
    assert (block["contracts"], block["unsigned"], block["amendments_awaiting"]) == (1, 0, 0)
    assert block["by_party"] == [] and block["waiting"] == []
