"""The programme's figures: pure functions of a scope and filters that return plain data.

Each block is one or two GROUP BY queries over the whole scope (never a loop over rows), at the
finest grain the page shows (Region × axis × status for the fiches-actions, Region × axis ×
funder for the money...); the coarser figures are sums of those rows in Python, over at most a
few hundred of them. Conditional aggregation (``Count(..., filter=...)``) puts every state of a
block in one pass.

Who sees what is decided here once (``scope_for``): the national roles see everything, a Region
reviewer the territories its Region pilots, anyone else nothing (the views answer 404).
"""

import math
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, cast

from django.db import connection
from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from accounts.models import Membership, Role
from accounts.scoping import NATIONAL_ROLES
from cases.contracts.models import in_force
from cases.models import (
    DUE_SOON_DAYS,
    STATE_LABELS,
    ActionSheet,
    Axis,
    Case,
    CaseEvent,
    ContractVersion,
    DerogationRequest,
    FinancingLine,
    Funder,
    Outcome,
    Party,
    Signature,
    State,
    TerritoryContract,
    Wave,
    WaveEvent,
    WaveItem,
    WaveState,
)
from deadlines.models import Clock
from territories.models import Region, Territory

ZERO = Decimal("0")
CONTRACT_STATES = [
    State.DRAFT.value,
    State.REGIONAL_REVIEW.value,
    State.MINISTERIAL_REVIEW.value,
    State.SIGNED_OFF.value,
    State.CONTRACTUALISED.value,
    State.REJECTED.value,
    State.WITHDRAWN.value,
]
DEROGATION_STATES = [
    State.DRAFT.value,
    State.REGIONAL_REVIEW.value,
    State.MINISTERIAL_REVIEW.value,
    State.DECIDED.value,
    State.CONTRACTUALISED.value,
    State.REJECTED.value,
    State.WITHDRAWN.value,
]
# A territory "has a contract" when one of its contracts is alive: a rejected or withdrawn
# contract is the end of a case, not a contract.
CLOSED_STATES = [State.REJECTED.value, State.WITHDRAWN.value]
TIME_WINDOW_DAYS = 90
# The stages a case leaves, in the order of its life, per kind.
STAGES: dict[str, list[str]] = {
    Case.Kind.CONTRACT.value: CONTRACT_STATES[:4],
    Case.Kind.DEROGATION.value: DEROGATION_STATES[:4],
}
KIND_LABELS = {Case.Kind.CONTRACT.value: "Contrats", Case.Kind.DEROGATION.value: "Dérogations"}
AXIS_LABELS = dict(Axis.choices)
FUNDER_LABELS = dict(Funder.choices)
OUTCOME_LABELS = dict(Outcome.choices)
ACTION_STATUS_LABELS = dict(ActionSheet.Status.choices)
WAVE_STATE_LABELS = dict(WaveState.choices)


@dataclass(frozen=True)
class Scope:
    """Every territory (national), or those piloted by some Regions (by Region pk)."""

    national: bool
    region_ids: tuple[int, ...] = ()

    @property
    def key(self) -> str:
        return "national" if self.national else "regions:" + ",".join(map(str, self.region_ids))

    def as_json(self) -> dict:
        return {"national": self.national, "region_ids": list(self.region_ids)}

    @classmethod
    def from_json(cls, data: dict) -> "Scope":
        return cls(national=bool(data["national"]), region_ids=tuple(data["region_ids"]))


NATIONAL = Scope(national=True)


def scope_for(user) -> Scope | None:
    """The national scope for a ministry agent or a steering member, the Regions a reviewer
    reviews for, or None (no dashboard) for anyone else."""
    if not user.is_authenticated or not user.is_active:
        return None
    rows = Membership.objects.filter(
        user=user, role__in=[*NATIONAL_ROLES, Role.REGION_REVIEWER]
    ).values_list("role", "organisation__region_id")
    regions = set()
    for role, region_id in rows:
        if role in NATIONAL_ROLES:
            return NATIONAL
        if region_id is not None:
            regions.add(region_id)
    return Scope(national=False, region_ids=tuple(sorted(regions))) if regions else None


@dataclass(frozen=True)
class Filters:
    region: int | None = None
    wave: int | None = None
    axis: str = ""
    funder: str = ""
    since: date | None = None
    until: date | None = None

    @property
    def key(self) -> str:
        return repr((self.region, self.wave, self.axis, self.funder, self.since, self.until))

    def params(self) -> dict[str, str]:
        """The filters as the lists' query parameters, empty ones left out."""
        values = {
            "region": self.region,
            "wave": self.wave,
            "axis": self.axis,
            "funder": self.funder,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }
        return {name: str(value) for name, value in values.items() if value}

    @property
    def active(self) -> bool:
        return bool(self.params())

    def as_json(self) -> dict:
        return {
            "region": self.region,
            "wave": self.wave,
            "axis": self.axis,
            "funder": self.funder,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Filters":
        return cls(
            region=data["region"],
            wave=data["wave"],
            axis=data["axis"],
            funder=data["funder"],
            since=date.fromisoformat(data["since"]) if data["since"] else None,
            until=date.fromisoformat(data["until"]) if data["until"] else None,
        )


NO_FILTERS = Filters()


def start_of(day: date) -> datetime:
    """Midnight of ``day`` in the programme's time zone: the lists filter the same way."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _region_q(scope: Scope, filters: Filters, prefix: str) -> Q:
    q = Q()
    if not scope.national:
        q &= Q(**{f"{prefix}territory__pilot_region_id__in": scope.region_ids})
    if filters.region:
        q &= Q(**{f"{prefix}territory__pilot_region_id": filters.region})
    return q


def _period_q(filters: Filters, prefix: str) -> Q:
    q = Q()
    if filters.since:
        q &= Q(**{f"{prefix}submitted_at__gte": start_of(filters.since)})
    if filters.until:
        q &= Q(**{f"{prefix}submitted_at__lt": start_of(filters.until + timedelta(days=1))})
    return q


def contract_q(
    scope: Scope, filters: Filters, prefix: str = "", *, axis: bool = True, funder: bool = True
) -> Q:
    """The contracts in scope and filters, as a condition on ``prefix`` (the path from the
    queried model to its contract). ``axis`` and ``funder`` off: the caller filters its own
    rows on them (a fiche on that axis, a line of that funder) rather than whole contracts."""
    q = _region_q(scope, filters, prefix) & _period_q(filters, prefix)
    if filters.wave:
        in_wave = WaveItem.objects.filter(wave_id=filters.wave, active=True)
        q &= Q(**{f"{prefix}pk__in": in_wave.values("contract_id")})
    if axis and filters.axis:
        on_axis = ActionSheet.objects.filter(axis=filters.axis)
        q &= Q(**{f"{prefix}pk__in": on_axis.values("contract_id")})
    if funder and filters.funder:
        lines = FinancingLine.objects.filter(funder=filters.funder)
        q &= Q(**{f"{prefix}pk__in": lines.values("action__contract_id")})
    return q


def derogation_q(scope: Scope, filters: Filters) -> Q:
    """Derogations follow the Region, the period and the wave (through the contract they
    were contractualised with); axis and funder do not apply to them."""
    q = _region_q(scope, filters, "") & _period_q(filters, "")
    if filters.wave:
        in_wave = WaveItem.objects.filter(wave_id=filters.wave, active=True)
        q &= Q(contract_id__in=in_wave.values("contract_id"))
    return q


def territory_q(scope: Scope, filters: Filters) -> Q:
    q = Q()
    if not scope.national:
        q &= Q(pilot_region_id__in=scope.region_ids)
    if filters.region:
        q &= Q(pilot_region_id=filters.region)
    return q


# What the filter form offers.


def filter_choices(scope: Scope) -> dict:
    """The Regions and the waves a user may filter on: their own Regions, and the waves that
    hold a contract of their scope (every wave for the national roles)."""
    regions = Region.objects.filter(piloted_territories__isnull=False).distinct()
    waves = Wave.objects.exclude(state=WaveState.CANCELLED)
    if not scope.national:
        regions = regions.filter(pk__in=scope.region_ids)
        waves = waves.filter(
            pk__in=WaveItem.objects.filter(
                active=True, contract__territory__pilot_region_id__in=scope.region_ids
            ).values("wave_id")
        )
    return {
        "regions": sorted(
            (
                {"id": pk, "code": code, "name": name}
                for pk, code, name in regions.values_list("pk", "code", "name")
            ),
            key=lambda r: french_order(r["name"]),
        ),
        "waves": [
            {"id": pk, "name": name, "date": day}
            for pk, name, day in waves.order_by("date", "pk").values_list("pk", "name", "date")
        ],
    }


# The blocks.

REGION_FIELDS = ("territory__pilot_region_id", "territory__pilot_region__code")


def french_order(name: str) -> str:
    """Sorted the French way: « Île-de-France » among the I, not after the Z."""
    letters = unicodedata.normalize("NFKD", name)
    return "".join(c for c in letters if not unicodedata.combining(c)).casefold()


def _region_row(rows: dict, region_id: int, code: str, name: str, **zeros: Any) -> dict:
    if region_id not in rows:
        rows[region_id] = {"region_id": region_id, "code": code, "name": name, **zeros}
    return rows[region_id]


def territories_block(scope: Scope, filters: Filters) -> dict:
    """How many territories have a contract, by state and by Region; contracts per wave."""
    regions: dict[int, dict] = {}
    zeros: dict[str, Any] = {
        "territories": 0,
        "with_contract": 0,
        "contractualised": 0,
        "contracts": 0,
        "states": dict.fromkeys(CONTRACT_STATES, 0),
    }
    for row in (
        Territory.objects.filter(territory_q(scope, filters))
        .values("pilot_region_id", "pilot_region__code", "pilot_region__name")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        region = _region_row(
            regions,
            row["pilot_region_id"],
            row["pilot_region__code"],
            row["pilot_region__name"],
            **{**zeros, "states": dict(zeros["states"])},
        )
        region["territories"] = row["n"]
    per_state = {f"c_{state}": Count("pk", filter=Q(state=state)) for state in CONTRACT_STATES}
    territories_per_state = {
        f"t_{state}": Count("territory", filter=Q(state=state), distinct=True)
        for state in CONTRACT_STATES
    }
    state_territories = dict.fromkeys(CONTRACT_STATES, 0)
    grouped = cast(
        list[dict[str, Any]],
        list(
            TerritoryContract.objects.filter(contract_q(scope, filters))
            .values("territory__pilot_region_id", "territory__pilot_region__code")
            .annotate(
                contracts=Count("pk"),
                with_contract=Count("territory", filter=~Q(state__in=CLOSED_STATES), distinct=True),
                **per_state,
                **territories_per_state,
            )
            .order_by()
        ),
    )
    for counts in grouped:
        region_id = counts["territory__pilot_region_id"]
        if region_id not in regions:  # a Region filtered out cannot have contracts in scope
            continue
        region = regions[region_id]
        region["contracts"] = counts["contracts"]
        region["with_contract"] = counts["with_contract"]
        region["contractualised"] = counts[f"t_{State.CONTRACTUALISED.value}"]
        for state in CONTRACT_STATES:
            region["states"][state] = counts[f"c_{state}"]
            # A territory belongs to one Region: the national figure is the sum.
            state_territories[state] += counts[f"t_{state}"]
    by_region = sorted(regions.values(), key=lambda r: french_order(r["name"]))
    return {
        "territories": sum(r["territories"] for r in by_region),
        "with_contract": sum(r["with_contract"] for r in by_region),
        "contractualised": sum(r["contractualised"] for r in by_region),
        "contracts": sum(r["contracts"] for r in by_region),
        "by_state": [
            {
                "state": str(state),
                "label": str(STATE_LABELS[state]),
                "contracts": sum(r["states"][state] for r in by_region),
                "territories": state_territories[state],
            }
            for state in CONTRACT_STATES
        ],
        "by_region": by_region,
    }


def waves_block(scope: Scope, filters: Filters) -> list[dict]:
    """The contracts of each wave (not cancelled) within scope and filters."""
    items = (
        WaveItem.objects.filter(active=True)
        .exclude(wave__state=WaveState.CANCELLED)
        .filter(contract_q(scope, filters, "contract__"))
        .values("wave_id", "wave__name", "wave__date", "wave__state")
        .annotate(
            contracts=Count("pk"),
            contractualised=Count("pk", filter=Q(contract__state=State.CONTRACTUALISED)),
            territories=Count(
                "contract__territory",
                filter=Q(contract__state=State.CONTRACTUALISED),
                distinct=True,
            ),
        )
        .order_by("wave__date", "wave_id")
    )
    return [
        {
            "wave_id": row["wave_id"],
            "name": row["wave__name"],
            "date": row["wave__date"],
            "state": row["wave__state"],
            "state_label": str(WAVE_STATE_LABELS.get(row["wave__state"], row["wave__state"])),
            "contracts": row["contracts"],
            "contractualised": row["contractualised"],
            "territories": row["territories"],
        }
        for row in items
    ]


def actions_block(scope: Scope, filters: Filters) -> dict:
    """Fiches-actions: count and total cost by axis, by Region, by status."""
    actions = ActionSheet.objects.filter(
        contract_q(scope, filters, "contract__", axis=False, funder=False)
    )
    if filters.axis:
        actions = actions.filter(axis=filters.axis)
    if filters.funder:
        actions = actions.filter(
            pk__in=FinancingLine.objects.filter(funder=filters.funder).values("action_id")
        )
    rows = [
        {
            "region_id": row["contract__territory__pilot_region_id"],
            "code": row["contract__territory__pilot_region__code"],
            "name": row["contract__territory__pilot_region__name"],
            "axis": row["axis"],
            "status": row["status"],
            "count": row["count"],
            "cost": row["cost"] or ZERO,
        }
        for row in actions.values(
            "contract__territory__pilot_region_id",
            "contract__territory__pilot_region__code",
            "contract__territory__pilot_region__name",
            "axis",
            "status",
        )
        .annotate(count=Count("pk"), cost=Sum("total_cost"))
        .order_by()
    ]
    by_axis = {axis: {"count": 0, "cost": ZERO} for axis in Axis.values}
    by_status = {status: {"count": 0, "cost": ZERO} for status in ActionSheet.Status.values}
    regions: dict[int, dict] = {}
    for row in rows:
        for bucket in (by_axis[row["axis"]], by_status[row["status"]]):
            bucket["count"] += row["count"]
            bucket["cost"] += row["cost"]
        region = _region_row(
            regions,
            row["region_id"],
            row["code"],
            row["name"],
            count=0,
            cost=ZERO,
            axes={axis: {"count": 0, "cost": ZERO} for axis in Axis.values},
        )
        region["count"] += row["count"]
        region["cost"] += row["cost"]
        region["axes"][row["axis"]]["count"] += row["count"]
        region["axes"][row["axis"]]["cost"] += row["cost"]
    return {
        "count": sum(r["count"] for r in rows),
        "cost": sum((r["cost"] for r in rows), ZERO),
        "by_axis": [
            {"axis": axis, "label": str(AXIS_LABELS[axis]), **by_axis[axis]} for axis in Axis.values
        ],
        "by_status": [
            {"status": status, "label": str(ACTION_STATUS_LABELS[status]), **by_status[status]}
            for status in ActionSheet.Status.values
        ],
        "by_region": sorted(regions.values(), key=lambda r: french_order(r["name"])),
        "rows": sorted(rows, key=lambda r: (french_order(r["name"]), r["axis"], r["status"])),
    }


def money_block(scope: Scope, filters: Filters) -> dict:
    """Financing requested (every line's amount) and committed (the committed amount of the
    committed lines), by funder, by Region and by axis."""
    lines = FinancingLine.objects.filter(
        contract_q(scope, filters, "action__contract__", axis=False, funder=False)
    )
    if filters.axis:
        lines = lines.filter(action__axis=filters.axis)
    if filters.funder:
        lines = lines.filter(funder=filters.funder)
    committed = Q(status=FinancingLine.Status.COMMITTED)
    rows = [
        {
            "region_id": row["action__contract__territory__pilot_region_id"],
            "code": row["action__contract__territory__pilot_region__code"],
            "name": row["action__contract__territory__pilot_region__name"],
            "axis": row["action__axis"],
            "funder": row["funder"],
            "lines": row["lines"],
            "committed_lines": row["committed_lines"],
            "requested": row["requested"] or ZERO,
            "committed": row["committed"] or ZERO,
        }
        for row in lines.values(
            "action__contract__territory__pilot_region_id",
            "action__contract__territory__pilot_region__code",
            "action__contract__territory__pilot_region__name",
            "action__axis",
            "funder",
        )
        .annotate(
            lines=Count("pk"),
            committed_lines=Count("pk", filter=committed),
            requested=Sum("amount"),
            committed=Sum("committed_amount", filter=committed),
        )
        .order_by()
    ]

    def empty() -> dict:
        return {"lines": 0, "committed_lines": 0, "requested": ZERO, "committed": ZERO}

    def add(bucket: dict, row: dict) -> None:
        for name in ("lines", "committed_lines", "requested", "committed"):
            bucket[name] += row[name]

    by_funder = {funder: empty() for funder in Funder.values}
    by_axis = {axis: empty() for axis in Axis.values}
    regions: dict[int, dict] = {}
    for row in rows:
        add(by_funder[row["funder"]], row)
        add(by_axis[row["axis"]], row)
        add(_region_row(regions, row["region_id"], row["code"], row["name"], **empty()), row)
    return {
        "requested": sum((r["requested"] for r in rows), ZERO),
        "committed": sum((r["committed"] for r in rows), ZERO),
        "lines": sum(r["lines"] for r in rows),
        "by_funder": [
            {"funder": funder, "label": str(FUNDER_LABELS[funder]), **by_funder[funder]}
            for funder in Funder.values
        ],
        "by_axis": [
            {"axis": axis, "label": str(AXIS_LABELS[axis]), **by_axis[axis]} for axis in Axis.values
        ],
        "by_region": sorted(regions.values(), key=lambda r: french_order(r["name"])),
        "rows": sorted(rows, key=lambda r: (french_order(r["name"]), r["axis"], r["funder"])),
    }


def derogations_block(scope: Scope, filters: Filters) -> dict:
    """Derogation requests by state, by outcome and by Region; the legal texts most asked."""
    requests = DerogationRequest.objects.filter(derogation_q(scope, filters))
    rows = [
        {
            "region_id": row["territory__pilot_region_id"],
            "code": row["territory__pilot_region__code"],
            "name": row["territory__pilot_region__name"],
            "state": row["state"],
            "outcome": row["outcome"],
            "count": row["count"],
        }
        for row in requests.values(
            *REGION_FIELDS, "territory__pilot_region__name", "state", "outcome"
        )
        .annotate(count=Count("pk"))
        .order_by()
    ]
    by_state = dict.fromkeys(DEROGATION_STATES, 0)
    by_outcome = dict.fromkeys(Outcome.values, 0)
    regions: dict[int, dict] = {}
    for row in rows:
        by_state[row["state"]] = by_state.get(row["state"], 0) + row["count"]
        if row["outcome"]:
            by_outcome[row["outcome"]] += row["count"]
        region = _region_row(
            regions,
            row["region_id"],
            row["code"],
            row["name"],
            count=0,
            outcomes=dict.fromkeys(Outcome.values, 0),
        )
        region["count"] += row["count"]
        if row["outcome"]:
            region["outcomes"][row["outcome"]] += row["count"]
    rules = (
        requests.exclude(rule_reference_key="")
        .values("rule_reference_key")
        .annotate(
            count=Count("pk"),
            # Shown as it was first written, among the requests in scope.
            reference=Subquery(
                requests.filter(rule_reference_key=OuterRef("rule_reference_key"))
                .order_by("pk")
                .values("rule_reference")[:1]
            ),
        )
        .order_by("-count", "rule_reference_key")[:10]
    )
    return {
        "count": sum(r["count"] for r in rows),
        "decided": sum(by_outcome.values()),
        "by_state": [
            {"state": str(state), "label": str(STATE_LABELS[state]), "count": by_state[state]}
            for state in DEROGATION_STATES
        ],
        "by_outcome": [
            {
                "outcome": outcome,
                "label": str(OUTCOME_LABELS[outcome]),
                "count": by_outcome[outcome],
            }
            for outcome in Outcome.values
        ],
        "by_region": sorted(regions.values(), key=lambda r: french_order(r["name"])),
        "rules": [
            {"key": row["rule_reference_key"], "reference": row["reference"], "count": row["count"]}
            for row in rules
        ],
        "rows": sorted(rows, key=lambda r: (french_order(r["name"]), r["state"], r["outcome"])),
    }


# Time spent in each stage.


def percentile(values: list[float], fraction: float) -> float | None:
    """The continuous percentile of sorted ``values`` (linear interpolation between the two
    nearest ranks), as PostgreSQL's ``percentile_cont`` computes it."""
    if not values:
        return None
    position = fraction * (len(values) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(values) - 1)
    return values[lower] + (values[upper] - values[lower]) * (position - lower)


def _stage_sql(scope: Scope, filters: Filters, vendor: str) -> tuple[str, list]:
    """Each stage left since the window's start, with the time it was entered: the previous
    event of the case that set its state (its creation or a transition), found with LAG over
    the case's chain. Only the cases touched in the window are read (a case that left a stage
    then was updated then)."""
    event, case, territory = (
        CaseEvent._meta.db_table,
        Case._meta.db_table,
        Territory._meta.db_table,
    )
    if vendor == "postgresql":
        seconds = "EXTRACT(EPOCH FROM (s.left_at - s.entered_at))"
    else:
        seconds = "(julianday(s.left_at) - julianday(s.entered_at)) * 86400.0"
    where, params = [], []
    if not scope.national:
        where.append(f"t.pilot_region_id IN ({', '.join(['%s'] * len(scope.region_ids))})")
        params += list(scope.region_ids)
    if filters.region:
        where.append("t.pilot_region_id = %s")
        params.append(filters.region)
    scoped = "".join(f" AND {condition}" for condition in where)
    inner = (
        # Table names from the models, every value a parameter.
        f"SELECT c.kind AS kind, e.kind AS event_kind, e.from_state AS from_state,"  # noqa: S608
        f" e.created_at AS left_at,"
        f" LAG(e.created_at) OVER (PARTITION BY e.case_id ORDER BY e.seq) AS entered_at"
        f" FROM {event} e JOIN {case} c ON c.id = e.case_id"
        f" JOIN {territory} t ON t.id = c.territory_id"
        f" WHERE e.kind IN (%s, %s) AND c.updated_at >= %s{scoped}"
    )
    return (
        f"SELECT s.kind, s.from_state, {seconds} AS seconds FROM ({inner}) s"  # noqa: S608
        f" WHERE s.event_kind = %s AND s.left_at >= %s AND s.entered_at IS NOT NULL",
        params,
    )


def time_block(
    scope: Scope, filters: Filters, *, now: datetime | None = None, in_python: bool = False
) -> dict:
    """Median and 90th percentile of the days spent in each stage, over the stages left
    since midnight 90 days ago. Only the Region filter applies: the window is the period.

    PostgreSQL computes the percentiles itself (``percentile_cont``, a handful of rows back);
    elsewhere (the demo's SQLite), or with ``in_python``, they are computed here over the
    durations, with the same interpolation."""
    # From midnight 90 days ago: the figure depends on the day only, so it can be cached by day.
    today = timezone.localdate(now or timezone.now())
    since = start_of(today - timedelta(days=TIME_WINDOW_DAYS))
    adapted = connection.ops.adapt_datetimefield_value(since)
    sql, scope_params = _stage_sql(scope, filters, connection.vendor)
    params = [
        CaseEvent.Kind.CREATION.value,
        CaseEvent.Kind.TRANSITION.value,
        adapted,
        *scope_params,
        CaseEvent.Kind.TRANSITION.value,
        adapted,
    ]
    stats: dict[tuple[str, str], tuple[int, float | None, float | None]] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not in_python:
            cursor.execute(
                "SELECT d.kind, d.from_state, COUNT(*),"  # noqa: S608 - no request text
                " percentile_cont(0.5) WITHIN GROUP (ORDER BY d.seconds),"
                " percentile_cont(0.9) WITHIN GROUP (ORDER BY d.seconds)"
                f" FROM ({sql}) d GROUP BY d.kind, d.from_state",
                params,
            )
            for kind, stage, count, median, p90 in cursor.fetchall():
                stats[(kind, stage)] = (count, _days(median), _days(p90))
        else:
            cursor.execute(sql, params)
            for key, values in durations_by_stage(cursor.fetchall()).items():
                values.sort()
                stats[key] = (len(values), percentile(values, 0.5), percentile(values, 0.9))
    return {"since": since, "days": TIME_WINDOW_DAYS, "stages": stage_rows(stats)}


def _days(seconds) -> float | None:
    return None if seconds is None else float(seconds) / 86400


def durations_by_stage(rows) -> dict[tuple[str, str], list[float]]:
    durations: dict[tuple[str, str], list[float]] = defaultdict(list)
    for kind, stage, seconds in rows:
        durations[(kind, stage)].append(float(seconds) / 86400)
    return durations


def stage_rows(stats: dict[tuple[str, str], tuple[int, float | None, float | None]]) -> list[dict]:
    """One row per kind and stage, the empty ones too, in the order of a case's life."""
    rows = []
    for kind, stages in STAGES.items():
        for stage in stages:
            count, median, p90 = stats.get((kind, stage), (0, None, None))
            rows.append(
                {
                    "kind": kind,
                    "kind_label": KIND_LABELS[kind],
                    "stage": stage,
                    "label": str(STATE_LABELS[stage]),
                    "count": count,
                    "median": None if median is None else round(median, 1),
                    "p90": None if p90 is None else round(p90, 1),
                }
            )
    return rows


def due_block(scope: Scope, filters: Filters, *, now: datetime | None = None) -> dict:
    """The cases in review, late and due soon, by Region, kind and stage (their clocks).
    Only the Region filter applies: a due date is about today."""
    today = timezone.localdate(now or timezone.now())
    soon = today + timedelta(days=DUE_SOON_DAYS)
    rows = [
        {
            "region_id": row["case__territory__pilot_region_id"],
            "code": row["case__territory__pilot_region__code"],
            "name": row["case__territory__pilot_region__name"],
            "kind": row["case__kind"],
            "kind_label": KIND_LABELS.get(row["case__kind"], row["case__kind"]),
            "stage": row["stage"],
            "label": str(STATE_LABELS.get(row["stage"], row["stage"])),
            "open": row["open"],
            "late": row["late"],
            "soon": row["soon"],
        }
        for row in Clock.objects.filter(_region_q(scope, filters, "case__"), due_on__isnull=False)
        .values(
            "case__territory__pilot_region_id",
            "case__territory__pilot_region__code",
            "case__territory__pilot_region__name",
            "case__kind",
            "stage",
        )
        .annotate(
            open=Count("pk"),
            late=Count("pk", filter=Q(due_on__lt=today)),
            soon=Count("pk", filter=Q(due_on__gte=today, due_on__lte=soon)),
        )
        .order_by()
    ]
    rows.sort(key=lambda r: (french_order(r["name"]), r["kind"], r["stage"]))
    return {
        "today": today,
        "soon_days": DUE_SOON_DAYS,
        "late": sum(r["late"] for r in rows),
        "soon": sum(r["soon"] for r in rows),
        "open": sum(r["open"] for r in rows),
        "rows": rows,
    }


PARTY_LABELS = {
    "epci": "Intercommunalités",
    "region": "Régions",
    "state": "État",
    "operator": "Opérateurs",
}


def signatures_block(scope: Scope, filters: Filters) -> dict:
    """The contractualised contracts in scope: signed by all or not, the signatures missing
    by party, the first contracts still waiting with whom they wait on; and the amounts of
    their current versions, by version number, with the change from the version before.
    Three queries: the contracts waiting, the signatures' counts, the versions' amounts."""
    contracts = TerritoryContract.objects.filter(contract_q(scope, filters), version_number__gt=0)
    unsigned = Signature.objects.filter(contract__in=contracts, signed_on__isnull=True)
    # Missing from the current version; awaited by an avenant validated by the ministry,
    # for the next one.
    current = Q(version=F("contract__version_number")) & in_force()
    awaited = Q(amendment__state=State.SIGNED_OFF)
    waiting = list(
        unsigned.filter(current)
        .values("contract__reference", "label")
        .order_by("contract__reference", "label")[: LISTED * 8]
    )
    listed: dict[str, list[str]] = {}
    for row in waiting:
        listed.setdefault(row["contract__reference"] or "", []).append(row["label"])
    counts = unsigned.aggregate(
        unsigned=Count("contract_id", filter=current, distinct=True),
        amendments_awaiting=Count("amendment_id", filter=awaited, distinct=True),
        **{party: Count("pk", filter=current & Q(party=party)) for party in Party.values},
    )
    return {
        **versions_of(contracts),
        "unsigned": counts["unsigned"],
        "amendments_awaiting": counts["amendments_awaiting"],
        "by_party": [
            {"party": party, "label": PARTY_LABELS.get(party, party), "missing": counts[party]}
            for party in sorted(Party.values)
            if counts[party]
        ],
        "waiting": [
            {"reference": reference, "missing": labels}
            for reference, labels in list(listed.items())[:LISTED]
        ],
    }


def versions_of(contracts) -> dict:
    """The contracts' current versions by number, their amounts and the committed change
    from each contract's version before, in one query."""
    number = F("contract__version_number")
    is_current = Q(number=number)
    rows = (
        ContractVersion.objects.filter(contract__in=contracts, number__gte=number - 1)
        .values("contract__version_number")
        .annotate(
            contracts=Count("pk", filter=is_current),
            cost=Sum("cost_total", filter=is_current),
            committed=Sum("committed_total", filter=is_current),
            before=Sum("committed_total", filter=Q(number=number - 1)),
            # Whether any of them had a version before: version 1 has no change to show.
            earlier=Count("pk", filter=Q(number=number - 1)),
        )
        .order_by("contract__version_number")
    )
    versions = []
    for row in rows:
        committed = row["committed"] or ZERO
        versions.append(
            {
                "number": row["contract__version_number"],
                "contracts": row["contracts"],
                "cost": row["cost"] or ZERO,
                "committed": committed,
                "change": committed - (row["before"] or ZERO) if row["earlier"] else None,
            }
        )
    return {"contracts": sum(row["contracts"] for row in versions), "versions": versions}


def dashboard(scope: Scope, filters: Filters, *, now: datetime | None = None) -> dict:
    return {
        "signatures": signatures_block(scope, filters),
        "due": due_block(scope, filters, now=now),
        "territories": territories_block(scope, filters),
        "waves": waves_block(scope, filters),
        "actions": actions_block(scope, filters),
        "money": money_block(scope, filters),
        "derogations": derogations_block(scope, filters),
        "time": time_block(scope, filters, now=now),
    }


# What changed since a date, for the committee's progress report.

DECISIONS = {"sign_off": "Validation ministérielle", "reject": "Rejet", "decide": "Décision"}
LISTED = 40


def changes_since(scope: Scope, since: date) -> dict:
    """New contracts (submitted), waves validated and decisions (sign-off, rejection,
    derogation decision) since ``since``, within scope."""
    start = start_of(since)
    region = _region_q(scope, NO_FILTERS, "")
    submitted = (
        TerritoryContract.objects.filter(region, submitted_at__gte=start)
        .select_related("territory__pilot_region")
        .order_by("submitted_at", "pk")
    )
    submitted_count = submitted.count()
    waves = (
        Wave.objects.filter(state=WaveState.VALIDATED, validated_at__gte=start)
        .annotate(
            contracts=Count(
                "items",
                filter=Q(items__active=True) & _region_q(scope, NO_FILTERS, "items__contract__"),
            )
        )
        .order_by("validated_at", "pk")
    )
    if not scope.national:
        waves = waves.filter(contracts__gt=0)
    events = (
        CaseEvent.objects.filter(
            _region_q(scope, NO_FILTERS, "case__"),
            kind=CaseEvent.Kind.TRANSITION,
            name__in=list(DECISIONS),
            created_at__gte=start,
        )
        .select_related("case__territory")
        .order_by("created_at", "pk")
    )
    decision_counts = {
        row["name"]: row["n"] for row in events.values("name").annotate(n=Count("pk")).order_by()
    }
    return {
        "since": since,
        "contracts": {
            "count": submitted_count,
            "listed": [
                {
                    "reference": contract.reference,
                    "title": contract.title,
                    "territory": contract.territory.name,
                    "region": contract.territory.pilot_region.name,
                    "submitted_at": contract.submitted_at,
                }
                for contract in submitted[:LISTED]
            ],
        },
        "waves": [
            {
                "name": wave.name,
                "date": wave.date,
                "place": wave.place,
                "validated_at": wave.validated_at,
                "contracts": wave.contracts,  # type: ignore[attr-defined]
            }
            for wave in waves
        ],
        "decisions": {
            "counts": [
                {"name": name, "label": label, "count": decision_counts.get(name, 0)}
                for name, label in DECISIONS.items()
            ],
            "count": sum(decision_counts.values()),
            "listed": [
                {
                    "reference": event.case.reference,
                    "territory": event.case.territory.name,
                    "label": DECISIONS[event.name],
                    "outcome": str(OUTCOME_LABELS.get(event.payload.get("outcome", ""), "")),
                    "at": event.created_at,
                }
                for event in events[:LISTED]
            ],
        },
    }


# The data's generation, for the cache of computed figures.


# Audit events that change no figure: a case's comments and documents (the busiest kinds).
QUIET_EVENTS = (CaseEvent.Kind.COMMENT.value, CaseEvent.Kind.DOCUMENT.value)


def generation() -> tuple:
    """A cheap fingerprint of the data the figures read, in one query of index lookups
    (about a millisecond at 100,000 contracts: each is a backward scan of a primary key).

    Every change through the services appends a case or wave event (the audit log), so the
    last event ids move on each write; comments and documents, which change no figure, are
    left out, so that a busy discussion does not recompute the dashboard. The last ids of
    cases, fiches and lines also catch rows inserted in bulk (the synthetic data set).
    Figures cached under a generation are therefore exact until the next write."""
    tables = [
        WaveEvent._meta.db_table,
        Case._meta.db_table,
        ActionSheet._meta.db_table,
        FinancingLine._meta.db_table,
    ]
    # Table names from the models; nothing from a request reaches this text.
    events = CaseEvent._meta.db_table
    lookups = [f"(SELECT MAX(id) FROM {events} WHERE kind NOT IN (%s, %s))"]  # noqa: S608
    lookups += [f"(SELECT MAX(id) FROM {table})" for table in tables]  # noqa: S608
    sql = "SELECT " + ", ".join(lookups)
    with connection.cursor() as cursor:
        cursor.execute(sql, list(QUIET_EVENTS))
        row = cursor.fetchone()
    return tuple(row or ())
