"""Every figure of the dashboard equals a sum computed here, row by row in Python, over the
known data set (tests/programme/test_stats_world.py)."""

from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from cases.kernel import services
from cases.models import ActionSheet, DerogationRequest, FinancingLine, TerritoryContract, Wave
from cases.waves import services as waves
from programme.dashboard import stats
from programme.dashboard.figures import Figures
from programme.dashboard.stats import NATIONAL, NO_FILTERS, Filters, Scope
from territories.models import Region, Territory
from tests.programme.test_stats_world import make_contract, world_for_a_module

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="module")
def module_world(django_db_setup, django_db_blocker):
    with world_for_a_module(django_db_blocker) as world:
        yield world


@pytest.fixture
def world(reference_data, module_world):
    return module_world.afresh()


def region(code: str) -> Region:
    return Region.objects.get(code=code)


def scope_of(code: str) -> Scope:
    return Scope(national=False, region_ids=(region(code).pk,))


def contracts_in(code=None):
    return [
        c
        for c in TerritoryContract.objects.select_related("territory__pilot_region")
        if code is None or c.territory.pilot_region.code == code
    ]


def fiches_in(code=None):
    return [
        a
        for a in ActionSheet.objects.select_related("contract__territory__pilot_region")
        if code is None or a.contract.territory.pilot_region.code == code
    ]


def lines_in(code=None):
    return [
        line
        for line in FinancingLine.objects.select_related(
            "action__contract__territory__pilot_region"
        )
        if code is None or line.action.contract.territory.pilot_region.code == code
    ]


def derogations_in(code=None):
    return [
        d
        for d in DerogationRequest.objects.select_related("territory__pilot_region")
        if code is None or d.territory.pilot_region.code == code
    ]


def committed(lines) -> Decimal:
    return sum((line.committed_amount for line in lines if line.status == "committed"), Decimal(0))


@pytest.mark.parametrize("code", [None, "84", "28"])
def test_territory_figures_equal_the_rows(world, code):
    scope = NATIONAL if code is None else scope_of(code)
    block = stats.territories_block(scope, NO_FILTERS)
    territories = [
        t
        for t in Territory.objects.select_related("pilot_region")
        if code in (None, t.pilot_region.code)
    ]
    contracts = contracts_in(code)
    alive = {c.territory_id for c in contracts if c.state not in ("rejected", "withdrawn")}
    assert block["territories"] == len(territories)
    assert block["with_contract"] == len(alive)
    assert block["contractualised"] == len(
        {c.territory_id for c in contracts if c.state == "contractualised"}
    )
    assert block["contracts"] == len(contracts)
    states = Counter(c.state for c in contracts)
    for row in block["by_state"]:
        assert row["contracts"] == states[row["state"]], row
        assert row["territories"] == len(
            {c.territory_id for c in contracts if c.state == row["state"]}
        )
    for row in block["by_region"]:
        here = [c for c in contracts if c.territory.pilot_region.code == row["code"]]
        assert row["territories"] == sum(
            1 for t in territories if t.pilot_region.code == row["code"]
        )
        assert row["contracts"] == len(here)
        assert row["with_contract"] == len(
            {c.territory_id for c in here if c.state not in ("rejected", "withdrawn")}
        )
    if code is not None:
        assert {row["code"] for row in block["by_region"]} == {code}


def test_the_known_data_set_gives_the_known_figures(world):
    """The same figures, written out once, so that the code and the Python sums cannot agree
    on a wrong reading of the data set."""
    national = stats.dashboard(NATIONAL, NO_FILTERS)
    territories = national["territories"]
    assert territories["territories"] == 148
    # 8414 and 2803 contractualised, 8401 signed off (and a draft), 2802 in review; 8402 rejected.
    assert territories["with_contract"] == 4
    assert territories["contractualised"] == 2
    assert territories["contracts"] == 6
    money = {row["funder"]: row for row in national["money"]["by_funder"]}
    assert money["bpifrance"]["requested"] == Decimal("50000")
    assert money["bpifrance"]["committed"] == Decimal("45000")
    assert money["banque_des_territoires"]["committed"] == 0
    assert national["money"]["requested"] == Decimal("165000")
    assert national["money"]["committed"] == Decimal("55000")
    axes = {row["axis"]: row for row in national["actions"]["by_axis"]}
    assert axes["attirer"]["count"] == 2 and axes["attirer"]["cost"] == Decimal("120000.50")
    outcomes = {row["outcome"]: row["count"] for row in national["derogations"]["by_outcome"]}
    assert outcomes == {"granted": 1, "refused": 1, "solved_without_derogation": 1}
    top = national["derogations"]["rules"][0]
    assert top["count"] == 3 and top["key"] == "codedelenvironnementartr1222"
    waves_by_name = {row["name"]: row for row in national["waves"]}
    assert waves_by_name["Vague de Lyon"]["contractualised"] == 2
    assert waves_by_name["Vague de Paris"]["contracts"] == 1


@pytest.mark.parametrize("code", [None, "84", "28"])
def test_fiche_figures_equal_the_rows(world, code):
    scope = NATIONAL if code is None else scope_of(code)
    block = stats.actions_block(scope, NO_FILTERS)
    fiches = fiches_in(code)
    assert block["count"] == len(fiches)
    assert block["cost"] == sum((a.total_cost for a in fiches), Decimal(0))
    for row in block["by_axis"]:
        mine = [a for a in fiches if a.axis == row["axis"]]
        assert (row["count"], row["cost"]) == (
            len(mine),
            sum((a.total_cost for a in mine), Decimal(0)),
        )
    for row in block["by_status"]:
        mine = [a for a in fiches if a.status == row["status"]]
        assert (row["count"], row["cost"]) == (
            len(mine),
            sum((a.total_cost for a in mine), Decimal(0)),
        )
    for row in block["by_region"]:
        mine = [a for a in fiches if a.contract.territory.pilot_region.code == row["code"]]
        assert row["count"] == len(mine)
        for axis, figures in row["axes"].items():
            assert figures["count"] == sum(1 for a in mine if a.axis == axis)


@pytest.mark.parametrize("code", [None, "84", "28"])
def test_money_figures_equal_the_rows(world, code):
    scope = NATIONAL if code is None else scope_of(code)
    block = stats.money_block(scope, NO_FILTERS)
    lines = lines_in(code)
    assert block["requested"] == sum((line.amount for line in lines), Decimal(0))
    assert block["committed"] == committed(lines)
    assert len(block["by_funder"]) == 8  # every funder, also without a line
    for row in block["by_funder"]:
        mine = [line for line in lines if line.funder == row["funder"]]
        assert row["requested"] == sum((line.amount for line in mine), Decimal(0))
        assert row["committed"] == committed(mine)
    for row in block["by_axis"]:
        mine = [line for line in lines if line.action.axis == row["axis"]]
        assert (row["requested"], row["committed"]) == (
            sum((line.amount for line in mine), Decimal(0)),
            committed(mine),
        )
    for row in block["by_region"]:
        mine = [
            line
            for line in lines
            if line.action.contract.territory.pilot_region.code == row["code"]
        ]
        assert (row["requested"], row["committed"]) == (
            sum((line.amount for line in mine), Decimal(0)),
            committed(mine),
        )


@pytest.mark.parametrize("code", [None, "84", "28"])
def test_derogation_figures_equal_the_rows(world, code):
    scope = NATIONAL if code is None else scope_of(code)
    block = stats.derogations_block(scope, NO_FILTERS)
    requests = derogations_in(code)
    assert block["count"] == len(requests)
    states = Counter(d.state for d in requests)
    assert {row["state"]: row["count"] for row in block["by_state"]} == {
        row["state"]: states[row["state"]] for row in block["by_state"]
    }
    assert sum(row["count"] for row in block["by_state"]) == len(requests)
    outcomes = Counter(d.outcome for d in requests if d.outcome)
    assert {row["outcome"]: row["count"] for row in block["by_outcome"]} == {
        o: outcomes[o] for o in ("granted", "refused", "solved_without_derogation")
    }
    keys = Counter(d.rule_reference_key for d in requests if d.rule_reference_key)
    assert [(row["key"], row["count"]) for row in block["rules"]] == sorted(
        keys.items(), key=lambda item: (-item[1], item[0])
    )[:10]
    for row in block["rules"]:
        assert row["reference"] in {
            d.rule_reference for d in requests if d.rule_reference_key == row["key"]
        }


def test_waves_count_their_contracts_in_scope(world):
    national = {row["wave_id"]: row for row in stats.waves_block(NATIONAL, NO_FILTERS)}
    lyon, paris = world.validated.pk, world.planned.pk
    assert (national[lyon]["contracts"], national[lyon]["contractualised"]) == (2, 2)
    assert national[lyon]["territories"] == 2
    assert (national[paris]["contracts"], national[paris]["contractualised"]) == (1, 0)
    auvergne = {row["wave_id"]: row for row in stats.waves_block(scope_of("84"), NO_FILTERS)}
    assert auvergne[lyon]["contracts"] == 1
    normandie = {row["wave_id"]: row for row in stats.waves_block(scope_of("28"), NO_FILTERS)}
    assert paris not in normandie and normandie[lyon]["contracts"] == 1


def test_a_cancelled_wave_is_not_counted(world):
    cancelled = waves.wave_create(
        actor=world.actors.minister, name="Vague annulée", date=timezone.localdate(), place="Caen"
    )
    waves.wave_cancel(wave=cancelled, actor=world.actors.minister)
    assert cancelled.pk not in {row["wave_id"] for row in stats.waves_block(NATIONAL, NO_FILTERS)}


def test_filters_narrow_every_block_to_what_they_say(world):
    innover = stats.dashboard(NATIONAL, Filters(axis="innover"))
    fiches = [a for a in fiches_in() if a.axis == "innover"]
    assert innover["actions"]["count"] == len(fiches)
    lines = [line for line in lines_in() if line.action.axis == "innover"]
    assert innover["money"]["requested"] == sum((line.amount for line in lines), Decimal(0))
    # Contracts: those with a fiche on that axis.
    assert innover["territories"]["contracts"] == len({a.contract_id for a in fiches})

    bpi = stats.dashboard(NATIONAL, Filters(funder="bpifrance"))
    assert bpi["money"]["requested"] == Decimal("50000")
    assert {row["funder"] for row in bpi["money"]["by_funder"] if row["requested"]} == {"bpifrance"}
    assert bpi["actions"]["count"] == len(
        {line.action_id for line in lines_in() if line.funder == "bpifrance"}
    )

    normandie = stats.dashboard(NATIONAL, Filters(region=region("28").pk))
    assert (
        normandie["territories"]["territories"]
        == Territory.objects.filter(pilot_region__code="28").count()
    )
    assert normandie["actions"]["count"] == len(fiches_in("28"))
    assert normandie["derogations"]["count"] == len(derogations_in("28"))

    lyon = stats.dashboard(NATIONAL, Filters(wave=world.validated.pk))
    assert lyon["territories"]["contracts"] == 2
    assert lyon["actions"]["count"] == len(
        [
            a
            for a in fiches_in()
            if a.contract_id in (world.contracts["A1"].pk, world.contracts["N2"].pk)
        ]
    )


def test_the_period_is_on_the_submission_date(world):
    a1 = world.contracts["A1"]
    TerritoryContract.objects.filter(pk=a1.pk).update(
        submitted_at=timezone.now() - timedelta(days=400)
    )
    today = timezone.localdate()
    recent = stats.territories_block(
        NATIONAL, Filters(since=today - timedelta(days=10), until=today)
    )
    submitted = [
        c
        for c in contracts_in()
        if c.submitted_at and c.submitted_at.date() >= today - timedelta(days=10)
    ]
    assert recent["contracts"] == len(submitted) and a1.pk not in {c.pk for c in submitted}
    old = stats.territories_block(
        NATIONAL, Filters(until=today - timedelta(days=399), since=today - timedelta(days=401))
    )
    assert old["contracts"] == 1


def test_a_region_scope_sees_only_its_region(world):
    auvergne = stats.dashboard(scope_of("84"), NO_FILTERS)
    assert [row["code"] for row in auvergne["territories"]["by_region"]] == ["84"]
    assert {row["code"] for row in auvergne["actions"]["by_region"]} == {"84"}
    assert {row["code"] for row in auvergne["money"]["by_region"]} == {"84"}
    assert {row["code"] for row in auvergne["derogations"]["by_region"]} == {"84"}
    # A Region filter outside the scope gives nothing, never another Region's figures.
    other = stats.dashboard(scope_of("84"), Filters(region=region("28").pk))
    assert other["territories"]["territories"] == 0 and other["actions"]["count"] == 0


def test_changes_since_a_session(world):
    minister = world.actors.minister
    today = timezone.localdate()
    changes = stats.changes_since(NATIONAL, today - timedelta(days=1))
    submitted = [c for c in contracts_in() if c.submitted_at]
    assert changes["contracts"]["count"] == len(submitted)
    assert {row["reference"] for row in changes["contracts"]["listed"]} == {
        c.reference for c in submitted
    }
    assert [w["name"] for w in changes["waves"]] == ["Vague de Lyon"]
    counts = {row["name"]: row["count"] for row in changes["decisions"]["counts"]}
    # A1, A2, N2 signed off; A3 rejected; D1, D2, D3 decided.
    assert counts == {"sign_off": 3, "reject": 1, "decide": 3}
    auvergne = stats.changes_since(scope_of("84"), today - timedelta(days=1))
    assert {row["reference"] for row in auvergne["contracts"]["listed"]} == {
        c.reference for c in submitted if c.territory.pilot_region.code == "84"
    }
    assert {row["name"]: row["count"] for row in auvergne["decisions"]["counts"]} == {
        "sign_off": 2,
        "reject": 1,
        "decide": 2,
    }
    assert auvergne["waves"][0]["contracts"] == 1
    # Nothing since tomorrow.
    later = stats.changes_since(NATIONAL, today + timedelta(days=1))
    assert later["contracts"]["count"] == 0 and later["decisions"]["count"] == 0
    assert minister


def test_cached_figures_follow_every_write(world):
    """The cache is keyed by the data's generation: a write through the services is seen at
    once, without waiting for the cache to expire."""
    before = Figures(NATIONAL).dashboard(NO_FILTERS)
    assert Figures(NATIONAL).dashboard(NO_FILTERS) == before
    generation = stats.generation()
    actors = world.actors
    make_contract(actors, "2804", "regional_review", [("simplifier", "1000", [("state", "700")])])
    assert stats.generation() != generation
    after = Figures(NATIONAL).dashboard(NO_FILTERS)
    assert after["territories"]["contracts"] == before["territories"]["contracts"] + 1
    assert after["money"]["requested"] == before["money"]["requested"] + Decimal("700")
    wave = Wave.objects.get(pk=world.planned.pk)
    waves.wave_remove_contract(wave=wave, actor=actors.minister, contract=world.contracts["A2"])
    paris = {row["name"]: row for row in Figures(NATIONAL).dashboard(NO_FILTERS)["waves"]}
    assert "Vague de Paris" not in paris


def test_filter_choices_are_those_of_the_scope(world):
    national = stats.filter_choices(NATIONAL)
    assert {r["code"] for r in national["regions"]} >= {"84", "28"}
    assert [w["name"] for w in national["waves"]] == ["Vague de Lyon", "Vague de Paris"]
    normandie = stats.filter_choices(scope_of("28"))
    assert [r["code"] for r in normandie["regions"]] == ["28"]
    assert [w["name"] for w in normandie["waves"]] == ["Vague de Lyon"]


def test_by_region_rows_add_up_to_the_totals(world):
    data = stats.dashboard(NATIONAL, NO_FILTERS)
    sums = defaultdict(Decimal)
    for row in data["money"]["by_region"]:
        sums["requested"] += row["requested"]
        sums["committed"] += row["committed"]
    assert sums["requested"] == data["money"]["requested"]
    assert sums["committed"] == data["money"]["committed"]
    assert sum(r["count"] for r in data["actions"]["by_region"]) == data["actions"]["count"]


def test_a_comment_does_not_recompute_the_figures_but_a_transition_does(world):
    contract = world.contracts["N1"]
    generation = stats.generation()
    services.comment_add(case=contract, actor=contract.created_by, body="Une question.")
    assert stats.generation() == generation
    services.run_transition(case=contract, actor=world.actors.reviewer("28"), name="approve")
    assert stats.generation() != generation
