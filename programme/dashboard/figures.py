"""The computed figures: kept, dated, and refreshed by the worker.

Computing the national figures from the rows is a few large GROUP BY queries: at 100,000
contracts, 400,000 fiches-actions and 800,000 financing lines (``seed_scale``'s synthetic
data set, two shared cores) about 1.5 s, the money block alone about 0.9 s; a Region's about
0.45 s. No page should make its reader wait that long after each write, so the figures of
each scope and set of filters are kept as a ``DashboardSnapshot`` row, with the state of the
data they describe: its *generation* (``stats.generation``: the last ids of the audit events,
cases, fiches and lines, one query of index lookups, so any write through the services moves
it) and the day (the time block's 90-day window slides with it). Figures older than
``DASHBOARD_CACHE_SECONDS`` also count as behind, which bounds how long a change made around
the services (the admin, raw SQL) can go unseen.

- ``Figures.latest`` (the page, the open statistics) answers from the row at once. When the
  data has moved on since, it says so (``Latest.current``, shown on the page with the time
  the figures were computed) and queues one ``refresh_dashboard`` task for the worker, to
  run at once, or ``REFRESH_INTERVAL`` after the figures were computed if they are younger;
  a view a few seconds later has the new figures.
- ``Figures.dashboard`` (the exports, the committee's PDF, the tests) is always exact: it
  computes when the row is behind, and stores what it computed.
- With no row yet (a scope or filters never viewed), both compute while the reader waits.

Rows computed more than ``RETENTION`` ago are removed when another is stored: a filter set
nobody has viewed for a month costs nothing.
"""

import hashlib
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.tasks import task
from django.utils import timezone

from programme.dashboard import stats
from programme.dashboard.stats import Filters, Scope
from programme.models import DashboardSnapshot

# A queued refresh that has not landed after this long (a worker stopped) may be queued again.
REFRESH_GUARD = timedelta(minutes=1)
# Under a stream of writes, one scope's figures are computed at most this often: the national
# ones cost a core about 1.5 s at 100,000 contracts.
REFRESH_INTERVAL = timedelta(seconds=10)
RETENTION = timedelta(days=30)
# Part of every kept figure's key: figures kept by an earlier version of their shape (a block
# added, say) are never read back by a newer one.
SHAPE = 2


def _timeout() -> int:
    return int(getattr(settings, "DASHBOARD_CACHE_SECONDS", 300))


def _digest(*parts) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def key_for(scope: Scope, filters: Filters) -> str:
    """The key of the figures kept for one scope and set of filters."""
    return _digest("dashboard", SHAPE, scope.key, filters.key)


def cached(name: str, parts: tuple, compute: Callable[[], Any]) -> Any:
    """A small figure (the filters' choices) in Django's cache, keyed by the generation."""
    key = "dashboard:" + _digest(name, *parts)
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, _timeout())
    return value


@dataclass(frozen=True)
class Latest:
    data: dict
    computed_at: datetime
    # False: writes have been made since these figures; newer ones are being computed.
    current: bool


class Figures:
    """The figures of one request: the generation is read once and shared by its lookups."""

    def __init__(self, scope: Scope, *, now: datetime | None = None):
        self.scope = scope
        self.now = now or timezone.now()
        self.day = timezone.localdate(self.now)
        self.generation = repr(stats.generation())

    def choices(self) -> dict:
        return cached(
            "choices",
            (self.scope.key, self.generation),
            lambda: stats.filter_choices(self.scope),
        )

    def dashboard(self, filters: Filters) -> dict:
        """The figures of the data as it is now."""
        return self._figures(filters, wait=True).data

    def latest(self, filters: Filters) -> Latest:
        """The figures last computed, at once; a refresh is queued when they are behind."""
        return self._figures(filters, wait=False)

    def _figures(self, filters: Filters, *, wait: bool) -> Latest:
        key = key_for(self.scope, filters)
        row = DashboardSnapshot.objects.filter(key=key).first()
        if row is not None:
            current = (
                row.generation == self.generation
                and row.day == self.day
                # Bounds how long a change made around the services (the admin) goes unseen.
                and row.computed_at >= self.now - timedelta(seconds=_timeout())
            )
            if current or not wait:
                if not current:
                    self._queue_refresh(row, filters)
                return Latest(_load(row.data), row.computed_at, current)
        return self._compute(key, filters)

    def _compute(self, key: str, filters: Filters) -> Latest:
        data = stats.dashboard(self.scope, filters, now=self.now)
        computed_at = timezone.now()
        DashboardSnapshot.objects.bulk_create(
            [
                DashboardSnapshot(
                    key=key,
                    generation=self.generation,
                    day=self.day,
                    computed_at=computed_at,
                    refresh_requested_at=None,
                    data=pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL),
                )
            ],
            update_conflicts=True,
            unique_fields=["key"],
            update_fields=["generation", "day", "computed_at", "refresh_requested_at", "data"],
        )
        DashboardSnapshot.objects.filter(computed_at__lt=computed_at - RETENTION).delete()
        return Latest(data, computed_at, True)

    def _queue_refresh(self, row: DashboardSnapshot, filters: Filters) -> None:
        # One claim, one task: of the views that find the row behind, only the first queues.
        claimed = (
            DashboardSnapshot.objects.filter(pk=row.pk)
            .filter(
                Q(refresh_requested_at__isnull=True)
                | Q(refresh_requested_at__lt=self.now - REFRESH_GUARD)
            )
            .update(refresh_requested_at=self.now)
        )
        if claimed:
            run_after = max(self.now, row.computed_at + REFRESH_INTERVAL)
            refresh_dashboard.using(run_after=run_after).enqueue(
                self.scope.as_json(), filters.as_json()
            )


def _load(data: bytes | memoryview) -> dict:
    # Written by _compute only, from this code's own figures: never from a request.
    return pickle.loads(bytes(data))  # noqa: S301


@task()
def refresh_dashboard(scope: dict, filters: dict) -> str:
    """Computes the figures of one scope and filters again, if the data moved on since."""
    Figures(Scope.from_json(scope)).dashboard(Filters.from_json(filters))
    return "ok"


def queue_warm_up() -> int:
    """At the worker's start: the unfiltered figures of the nation and of each Region that
    pilots territories, computed by the worker if none are kept yet, so that the first
    reader after a deployment does not wait for them. The number queued."""
    from territories.models import Region

    scopes = [stats.NATIONAL] + [
        Scope(national=False, region_ids=(pk,))
        for pk in Region.objects.filter(piloted_territories__isnull=False)
        .distinct()
        .values_list("pk", flat=True)
    ]
    kept = set(DashboardSnapshot.objects.values_list("key", flat=True))
    queued = 0
    for scope in scopes:
        if key_for(scope, stats.NO_FILTERS) not in kept:
            refresh_dashboard.enqueue(scope.as_json(), stats.NO_FILTERS.as_json())
            queued += 1
    return queued
