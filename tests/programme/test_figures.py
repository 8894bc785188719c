"""The kept figures: the page answers from them at once, says when they are behind the data,
and the worker brings them up to date; the exports and the PDF are always exact."""

import re
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from programme.dashboard import stats
from programme.dashboard.figures import (
    REFRESH_GUARD,
    REFRESH_INTERVAL,
    Figures,
    key_for,
    refresh_dashboard,
)
from programme.dashboard.stats import NATIONAL, NO_FILTERS, Filters
from programme.models import DashboardSnapshot
from tests.programme.test_stats_world import build_world, make_contract
from tests.support import worker_process

pytestmark = pytest.mark.django_db
DASHBOARD = "/tableau-de-bord/"
BEHIND = "Ils sont en cours de mise à jour"
CURRENT = "à jour des dernières modifications"


@pytest.fixture
def world(reference_data):
    return build_world()


def refreshes() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=refresh_dashboard.module_path))


def action_count(page: str) -> int:
    """The number of fiches-actions, as the page's tile prints it."""
    found = re.search(r'>([\d\u202f\u00a0 ]+)<span class="fr-sr-only"> fiches-actions<', page)
    assert found, "figure not found"
    return int(re.sub(r"\D", "", found.group(1)))


def add_contract(world) -> None:
    make_contract(
        world.actors, "2804", "regional_review", [("simplifier", "1000", [("state", "700")])]
    )


def test_after_a_write_the_page_shows_the_kept_figures_dated_and_queues_one_refresh(client, world):
    client.force_login(world.actors.minister)
    first = client.get(DASHBOARD).content.decode()
    assert CURRENT in first and BEHIND not in first
    assert refreshes() == []
    before = stats.dashboard(NATIONAL, NO_FILTERS)["actions"]["count"]
    add_contract(world)

    behind = client.get(DASHBOARD).content.decode()
    assert BEHIND in behind and CURRENT not in behind
    assert action_count(behind) == before
    client.get(DASHBOARD)  # a second reader before the worker: no second task
    (queued,) = refreshes()
    assert queued.args_kwargs["args"] == [NATIONAL.as_json(), NO_FILTERS.as_json()]

    refresh_dashboard.call(*queued.args_kwargs["args"])
    after = client.get(DASHBOARD).content.decode()
    assert CURRENT in after
    assert action_count(after) == before + 1
    assert DashboardSnapshot.objects.get().refresh_requested_at is None


def test_exports_and_figures_for_the_pdf_are_exact_at_once(client, world):
    client.force_login(world.actors.minister)
    client.get(DASHBOARD)
    before = Figures(NATIONAL).dashboard(NO_FILTERS)["money"]["requested"]
    add_contract(world)
    assert Figures(NATIONAL).dashboard(NO_FILTERS)["money"]["requested"] == before + Decimal("700")
    assert refreshes() == []  # computed in the request, nothing left for the worker
    exported = client.get("/tableau-de-bord/export/financements.csv").content.decode()
    assert "700" in exported


def test_a_refresh_that_never_landed_is_queued_again_after_the_guard(client, world):
    client.force_login(world.actors.minister)
    client.get(DASHBOARD)
    add_contract(world)
    client.get(DASHBOARD)
    assert len(refreshes()) == 1
    with time_machine.travel(timezone.now() + REFRESH_GUARD - timedelta(seconds=5)):
        client.get(DASHBOARD)
    assert len(refreshes()) == 1
    with time_machine.travel(timezone.now() + REFRESH_GUARD + timedelta(seconds=5)):
        client.get(DASHBOARD)
    assert len(refreshes()) == 2


def test_the_next_day_the_figures_are_behind_until_refreshed(client, world):
    client.force_login(world.actors.minister)
    client.get(DASHBOARD)
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        assert BEHIND in client.get(DASHBOARD).content.decode()
        (queued,) = refreshes()
        refresh_dashboard.call(*queued.args_kwargs["args"])
        assert CURRENT in client.get(DASHBOARD).content.decode()


def test_each_scope_and_filter_set_keeps_its_own_figures(world):
    region = world.contracts["A1"].territory.pilot_region
    scoped = stats.Scope(national=False, region_ids=(region.pk,))
    national = Figures(NATIONAL).latest(NO_FILTERS)
    regional = Figures(scoped).latest(NO_FILTERS)
    on_axis = Figures(NATIONAL).latest(Filters(axis="attirer"))
    assert DashboardSnapshot.objects.count() == 3
    assert regional.data == stats.dashboard(scoped, NO_FILTERS)
    assert on_axis.data == stats.dashboard(NATIONAL, Filters(axis="attirer"))
    assert national.data == stats.dashboard(NATIONAL, NO_FILTERS)
    assert Filters.from_json(Filters(axis="attirer").as_json()) == Filters(axis="attirer")


def test_figures_a_month_old_are_removed_when_others_are_stored(world):
    Figures(NATIONAL).latest(NO_FILTERS)
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        Figures(NATIONAL).latest(Filters(axis="innover"))
    assert DashboardSnapshot.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_real_worker_brings_the_page_up_to_date(client, reference_data):
    world = build_world()
    client.force_login(world.actors.minister)
    before = action_count(client.get(DASHBOARD).content.decode())
    add_contract(world)
    assert BEHIND in client.get(DASHBOARD).content.decode()
    national = DashboardSnapshot.objects.filter(key=key_for(NATIONAL, NO_FILTERS))
    with worker_process(connection.settings_dict["NAME"]):
        deadline = time.monotonic() + 60
        # The worker also computes each Region's figures when it starts: the nation's here.
        while national.get().refresh_requested_at is not None:
            assert time.monotonic() < deadline, "the worker did not refresh the figures"
            time.sleep(0.2)
    page = client.get(DASHBOARD).content.decode()
    assert CURRENT in page
    assert action_count(page) == before + 1


def test_figures_older_than_the_setting_are_refreshed(client, world, settings):
    """A change made around the services (the admin) moves no generation: the age bounds it."""
    settings.DASHBOARD_CACHE_SECONDS = 120
    client.force_login(world.actors.minister)
    client.get(DASHBOARD)
    with time_machine.travel(timezone.now() + timedelta(seconds=100)):
        assert CURRENT in client.get(DASHBOARD).content.decode()
    with time_machine.travel(timezone.now() + timedelta(seconds=130)):
        assert BEHIND in client.get(DASHBOARD).content.decode()
    assert len(refreshes()) == 1


def test_under_a_stream_of_writes_a_scope_is_refreshed_at_most_every_interval(client, world):
    client.force_login(world.actors.minister)
    client.get(DASHBOARD)
    computed_at = DashboardSnapshot.objects.get().computed_at
    add_contract(world)
    client.get(DASHBOARD)
    (young,) = refreshes()
    assert young.run_after == computed_at + REFRESH_INTERVAL
    young.delete()
    DashboardSnapshot.objects.update(refresh_requested_at=None)
    later = timezone.now() + REFRESH_INTERVAL + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        client.get(DASHBOARD)
    (old,) = refreshes()
    assert old.run_after == later


def test_figures_computed_by_an_export_release_the_queued_refresh(client, world):
    """Whoever computes the figures clears the claim: the next write can queue at once."""
    client.force_login(world.actors.minister)
    client.get(DASHBOARD)
    add_contract(world)
    client.get(DASHBOARD)
    (queued,) = refreshes()
    client.get("/tableau-de-bord/export/fiches.csv")  # computes them in the request
    assert DashboardSnapshot.objects.get().refresh_requested_at is None
    refresh_dashboard.call(*queued.args_kwargs["args"])  # then finds nothing to do
    assert DashboardSnapshot.objects.get().computed_at > queued.enqueued_at


def test_the_dashboard_counts_the_cases_late_and_due_soon_by_region_and_stage(world):
    """Against the clocks counted here, one by one."""
    from deadlines.models import Clock

    today = timezone.localdate()
    clocks = list(Clock.objects.select_related("case__territory__pilot_region"))
    assert clocks, "the world has cases in review"
    for number, clock in enumerate(clocks):
        Clock.objects.filter(pk=clock.pk).update(due_on=today + timedelta(days=number * 3 - 6))
    expected: dict = {}
    for clock in Clock.objects.select_related("case__territory__pilot_region"):
        key = (clock.case.territory.pilot_region.name, clock.case.kind, clock.stage)
        late, soon = clock.due_on < today, today <= clock.due_on <= today + timedelta(days=5)
        counts = expected.setdefault(key, [0, 0, 0])
        counts[0] += 1
        counts[1] += late
        counts[2] += soon
    due = stats.due_block(NATIONAL, NO_FILTERS)
    found = {
        (r["name"], r["kind"], r["stage"]): [r["open"], r["late"], r["soon"]] for r in due["rows"]
    }
    assert found == expected
    assert due["late"] == sum(c[1] for c in expected.values()) > 0
    region = clocks[0].case.territory.pilot_region
    scoped = stats.due_block(stats.Scope(national=False, region_ids=(region.pk,)), NO_FILTERS)
    assert {r["name"] for r in scoped["rows"]} == {region.name}


def test_the_worker_start_queues_the_unfiltered_figures_not_yet_kept(world):
    from programme.dashboard.figures import queue_warm_up
    from territories.models import Region

    regions = Region.objects.filter(piloted_territories__isnull=False).distinct().count()
    Figures(NATIONAL).latest(NO_FILTERS)  # the nation's are kept already
    assert queue_warm_up() == regions
    scopes = [task.args_kwargs["args"][0] for task in refreshes()]
    assert NATIONAL.as_json() not in scopes and len(scopes) == regions
    for task in refreshes():
        refresh_dashboard.call(*task.args_kwargs["args"])
    assert DashboardSnapshot.objects.count() == regions + 1
    assert queue_warm_up() == 0
