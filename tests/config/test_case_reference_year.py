"""A case's reference carries the year of its Paris creation date, not the UTC one."""

import datetime as dt

import pytest
import time_machine

from tests import factories

pytestmark = pytest.mark.django_db


def test_case_created_on_new_years_night_in_paris_gets_the_new_year():
    # 23:30 UTC on 31 December is 00:30 on 1 January in Paris.
    with time_machine.travel(dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC), tick=False):
        contract = factories.contract_in_state("draft", actions=0)
    assert contract.reference.startswith("CT-2027-"), contract.reference


def test_case_created_on_new_years_eve_in_paris_keeps_the_old_year():
    with time_machine.travel(dt.datetime(2026, 12, 31, 22, 30, tzinfo=dt.UTC), tick=False):
        contract = factories.contract_in_state("draft", actions=0)
    assert contract.reference.startswith("CT-2026-"), contract.reference
