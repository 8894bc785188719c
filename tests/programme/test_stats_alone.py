"""The dashboard's figures on data each test makes for itself: scopes, percentiles, time in
each stage, the Regions' order. Apart from tests/programme/test_stats.py, whose known data set
is built once for the module and would be counted here too."""

import statistics
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from cases.kernel import services
from programme.dashboard import stats
from programme.dashboard.stats import NATIONAL, NO_FILTERS, Scope
from territories.models import Region, Territory
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def scope_of(code: str) -> Scope:
    return Scope(national=False, region_ids=(Region.objects.get(code=code).pk,))


def test_a_region_scope_is_the_territories_its_region_pilots(reference_data):
    from accounts.scoping import piloted_territories

    reviewer = factories.region_reviewer("84")
    scope = stats.scope_for(reviewer)
    assert scope is not None
    mine = set(Territory.objects.filter(stats.territory_q(scope, NO_FILTERS)).values_list("pk"))
    assert mine == set(piloted_territories(reviewer).values_list("pk"))


def test_scope_follows_memberships(reference_data):
    assert stats.scope_for(factories.ministry_agent()) == NATIONAL
    assert stats.scope_for(factories.steering_member()) == NATIONAL
    assert stats.scope_for(factories.region_reviewer("84")) == scope_of("84")
    assert stats.scope_for(factories.epci_agent("200000172")) is None
    assert stats.scope_for(factories.operator_agent()) is None


def test_percentile_is_postgresql_percentile_cont():
    values = [1.0, 2.0, 3.0, 4.0, 10.0]
    assert stats.percentile(values, 0.5) == statistics.median(values)
    assert stats.percentile(values, 0.9) == pytest.approx(
        statistics.quantiles(values, n=10, method="inclusive")[8]
    )
    assert stats.percentile([], 0.5) is None
    assert stats.percentile([7.0], 0.9) == 7.0


def test_time_in_each_stage_from_the_audit_events(reference_data):
    """Contracts moved at known dates: the medians and 90th percentiles are those of the
    days between entering and leaving each stage, computed here with statistics."""
    actors = factories.ministry_agent()
    now = timezone.now()
    # (days in draft, days in regional review) of each contract, all left within 90 days.
    plans = [(2, 5), (4, 1), (10, 3), (1, 20), (6, 8)]
    reviewer = factories.region_reviewer("84")
    contracts = []
    for number, (drafting, review) in enumerate(plans):
        start = now - timedelta(days=60 + number)
        with time_machine.travel(start, tick=False):
            contract = factories.contract_in_state("draft", territory_code="8414")
        with time_machine.travel(start + timedelta(days=drafting), tick=False):
            services.run_transition(case=contract, actor=contract.created_by, name="submit")
        with time_machine.travel(start + timedelta(days=drafting + review), tick=False):
            services.run_transition(case=contract, actor=reviewer, name="approve")
        contracts.append(contract)
    # Left long ago: outside the window, not counted.
    with time_machine.travel(now - timedelta(days=200), tick=False):
        old = factories.contract_in_state("regional_review", territory_code="8401")
    assert old.pk
    block = stats.time_block(NATIONAL, NO_FILTERS)
    rows = {(row["kind"], row["stage"]): row for row in block["stages"]}
    drafting = sorted(float(d) for d, _ in plans)
    review = sorted(float(r) for _, r in plans)
    assert rows[("contract", "draft")]["count"] == len(plans)
    assert rows[("contract", "draft")]["median"] == round(statistics.median(drafting), 1)
    assert rows[("contract", "draft")]["p90"] == round(
        statistics.quantiles(drafting, n=10, method="inclusive")[8], 1
    )
    assert rows[("contract", "regional_review")]["median"] == round(statistics.median(review), 1)
    assert rows[("contract", "regional_review")]["p90"] == round(
        statistics.quantiles(review, n=10, method="inclusive")[8], 1
    )
    assert rows[("contract", "ministerial_review")]["count"] == 0
    assert rows[("contract", "ministerial_review")]["median"] is None
    # PostgreSQL's percentile_cont and the demo's Python computation agree.
    assert stats.time_block(NATIONAL, NO_FILTERS, in_python=True) == block
    # The Region scope: Normandie has none of these.
    normandie = stats.time_block(scope_of("28"), NO_FILTERS)
    assert all(row["count"] == 0 for row in normandie["stages"])
    assert actors


def test_regions_are_in_french_order(reference_data):
    names = [row["name"] for row in stats.territories_block(NATIONAL, NO_FILTERS)["by_region"]]
    assert names.index("Île-de-France") < names.index("La Réunion")
    assert names.index("Grand Est") < names.index("Guadeloupe") < names.index("Île-de-France")
    choices = [r["name"] for r in stats.filter_choices(NATIONAL)["regions"]]
    assert choices.index("Île-de-France") < choices.index("La Réunion")
