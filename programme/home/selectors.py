"""What each role's home page shows, scoped to the user like every other lookup.

Each section is one query: its first rows, with the section's counts as uncorrelated scalar
subqueries over the same rows, so that a page costs the same number of queries whatever the
size of the programme. PostgreSQL runs such a subquery once (an InitPlan) over the bare rows,
while the outer query still reads its ten rows down an index; a window count
(``COUNT(*) OVER ()``) instead made it join and sort every candidate row before the LIMIT
(280 ms for the ministry's « validés, sans vague » at 100,000 contracts). The operator's
contracts are counted with the operator's totals, and the EPCI's latest decisions show no
count.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from django.db.models import Case as SqlCase
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest

from accounts.models import Membership, Role
from accounts.scoping import epci_territories, piloted_territories
from cases.contracts.selectors import funded_contracts_for_user
from cases.kernel.selectors import operator_codes
from cases.models import (
    EVENT_LABELS,
    Case,
    CaseEvent,
    DerogationRequest,
    FinancingLine,
    Opinion,
    State,
    TerritoryContract,
    Wave,
    WaveItem,
    WaveState,
)
from territories.models import TerritoryIntercommunality
from workflows.flows import Actor
from workflows.selectors import nodes_waiting_on, open_tasks_for_user

SECTION_SIZE = 10
DECISIONS = ("sign_off", "reject", "decide", "contractualise")
MONEY = DecimalField(max_digits=16, decimal_places=2)


@dataclass
class Profile:
    """The user's roles and organisations, read in one query for the whole page."""

    roles: set[str] = field(default_factory=set)
    # (pk, name) of the Regions the user reviews for.
    regions: list[tuple[int, str]] = field(default_factory=list)
    # Organisations the user is an operator agent of, and their funder codes.
    operator_organisations: list[int] = field(default_factory=list)
    operators: list[str] = field(default_factory=list)
    # An EPCI agent whose EPCI belongs to a territory: may start a contract or a request.
    may_create: bool = False


def profile_of(user) -> Profile:
    profile = Profile()
    in_a_territory = Exists(
        TerritoryIntercommunality.objects.filter(
            intercommunality_id=OuterRef("organisation__intercommunality_id")
        )
    )
    rows = (
        Membership.objects.filter(user=user)
        .annotate(in_a_territory=in_a_territory)
        .values(
            "role",
            "organisation_id",
            "organisation__region_id",
            "organisation__region__name",
            "organisation__operator",
            "in_a_territory",
        )
        .order_by("organisation__name", "pk")
    )
    for row in rows:
        role = row["role"]
        profile.roles.add(role)
        if role == Role.EPCI_AGENT and row["in_a_territory"]:
            profile.may_create = True
        elif role == Role.REGION_REVIEWER and row["organisation__region_id"]:
            region = (row["organisation__region_id"], row["organisation__region__name"])
            if region not in profile.regions:
                profile.regions.append(region)
        elif role == Role.OPERATOR_AGENT:
            profile.operator_organisations.append(row["organisation_id"])
            if row["organisation__operator"]:
                profile.operators.append(row["organisation__operator"])
    return profile


@dataclass
class Section:
    """The first rows of a list and its counts over every row."""

    rows: list
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return self.counts.get("total", 0)

    @property
    def more(self) -> bool:
        return self.total > len(self.rows)


def _count(queryset: QuerySet, condition: Q) -> Coalesce:
    """The number of rows of ``queryset`` that meet ``condition``, as a scalar subquery."""
    rows = queryset.filter(condition).order_by().values(one=Value(1))
    return Coalesce(
        Subquery(rows.annotate(n=Count("pk")).values("n")[:1]),
        0,
        output_field=IntegerField(),
    )


def section(queryset: QuerySet, size: int = SECTION_SIZE, **counts: Q) -> Section:
    """One query: the first ``size`` rows, each carrying the counts over the whole list."""
    figures_of = {"total": _count(queryset, Q())} | {
        f"count_{name}": _count(queryset, condition) for name, condition in counts.items()
    }
    rows = list(queryset.annotate(**figures_of)[:size])
    figures = {"total": rows[0].total if rows else 0}
    for name in counts:
        figures[name] = getattr(rows[0], f"count_{name}") if rows else 0
    return Section(rows=rows, counts=figures)


def _case_title():
    return SqlCase(
        When(kind=Case.Kind.CONTRACT, then=F("territorycontract__title")),
        # An avenant is named by its contract's title.
        When(kind=Case.Kind.AMENDMENT, then=F("contractamendment__parent__title")),
        default=F("derogationrequest__title"),
    )


def _changes_asked():
    return Exists(
        CaseEvent.objects.filter(
            case=OuterRef("pk"), kind=CaseEvent.Kind.TRANSITION, name="request_changes"
        )
    )


# EPCI agent.


def epci_cases(user) -> QuerySet[Case]:
    return Case.objects.filter(territory__in=epci_territories(user)).select_related("territory")


def epci_drafts(user) -> Section:
    drafts = (
        epci_cases(user)
        .filter(state=State.DRAFT)
        .annotate(title=_case_title(), changes_asked=_changes_asked())
        .order_by("-updated_at", "-pk")
    )
    return section(
        drafts, contracts=Q(kind=Case.Kind.CONTRACT), derogations=Q(kind=Case.Kind.DEROGATION)
    )


def epci_changes_asked(user) -> Section:
    """Cases sent back for changes: a draft with a request_changes behind it (a draft is
    reached only by creation or by that transition), with the reviewer's public comment."""
    last_request = CaseEvent.objects.filter(
        case=OuterRef("pk"), name="request_changes", private=False
    ).order_by("-seq")
    waiting = (
        epci_cases(user)
        .filter(state=State.DRAFT)
        .filter(_changes_asked())
        .annotate(
            title=_case_title(),
            request_comment=Subquery(last_request.values("comment")[:1]),
            request_at=Subquery(last_request.values("created_at")[:1]),
            request_from=Subquery(last_request.values("from_state")[:1]),
        )
        .order_by("-request_at", "-pk")
    )
    return section(waiting)


DECIDED_STATES = [State.SIGNED_OFF, State.CONTRACTUALISED, State.REJECTED, State.DECIDED]


def epci_decisions(user) -> Section:
    """The last decided cases, latest first, each with its last decision's public event.

    Read from the territory's cases (their decision dates), not by searching the events of
    the whole programme: a territory has a few hundred cases, the programme millions of events.
    """
    last = CaseEvent.objects.filter(
        case=OuterRef("pk"), kind=CaseEvent.Kind.TRANSITION, name__in=DECISIONS, private=False
    ).order_by("-seq")
    never = Value(datetime(1970, 1, 1, tzinfo=UTC))
    decided = (
        epci_cases(user)
        .filter(state__in=DECIDED_STATES)
        .annotate(
            title=_case_title(),
            decided_on=Greatest(
                Coalesce("signed_off_at", never),
                Coalesce("contractualised_at", never),
                Coalesce("closed_at", never),
                Coalesce("derogationrequest__decided_at", never),
            ),
            decision=Subquery(last.values("name")[:1]),
            decision_at=Subquery(last.values("created_at")[:1]),
            decision_comment=Subquery(last.values("comment")[:1]),
        )
        .order_by("-decided_on", "-pk")
    )
    rows: list = list(decided[:SECTION_SIZE])
    for case in rows:
        case.decision_label = EVENT_LABELS.get(case.decision or "", "")
    return Section(rows=rows, counts={"total": len(rows)})


# Region reviewer.


def region_tasks(user) -> Section:
    tasks = (
        open_tasks_for_user(user)
        .filter(flow_task__in=nodes_waiting_on(Actor.REGION))
        .select_related(
            "process__caseprocess__case__territorycontract",
            "process__caseprocess__case__derogationrequest",
        )
    )
    return section(
        tasks,
        to_take=Q(owner__isnull=True),
        mine=Q(owner=user),
        others=Q(owner__isnull=False) & ~Q(owner=user),
    )


CONTRACT_STATES = [
    State.DRAFT,
    State.REGIONAL_REVIEW,
    State.MINISTERIAL_REVIEW,
    State.SIGNED_OFF,
    State.CONTRACTUALISED,
    State.REJECTED,
    State.WITHDRAWN,
]
# The order of the Region's table: along the review, then the ends.
ALL_STATES = [
    State.DRAFT,
    State.REGIONAL_REVIEW,
    State.MINISTERIAL_REVIEW,
    State.SIGNED_OFF,
    State.DECIDED,
    State.CONTRACTUALISED,
    State.REJECTED,
    State.WITHDRAWN,
]
DEROGATION_STATES = [
    State.DRAFT,
    State.REGIONAL_REVIEW,
    State.MINISTERIAL_REVIEW,
    State.DECIDED,
    State.CONTRACTUALISED,
    State.WITHDRAWN,
]


def region_cases_by_state(user) -> dict[int, dict[tuple[str, str], int]]:
    """Per piloting Region: the number of cases of each kind in each state."""
    rows = (
        Case.objects.filter(territory__in=piloted_territories(user))
        .values("territory__pilot_region_id", "kind", "state")
        .annotate(count=Count("pk"))
        .order_by()
    )
    counts: dict[int, dict[tuple[str, str], int]] = {}
    for row in rows:
        region = counts.setdefault(row["territory__pilot_region_id"], {})
        region[(row["kind"], row["state"])] = row["count"]
    return counts


def region_opinions_to_give(user) -> Section:
    requests = (
        DerogationRequest.objects.filter(
            territory__in=piloted_territories(user),
            state=State.REGIONAL_REVIEW,
            region_opinion="",
        )
        .select_related("territory", "applicant")
        .order_by("submitted_at", "pk")
    )
    return section(requests)


# Ministry agent.


def ministry_to_sign_off() -> Section:
    contracts = (
        TerritoryContract.objects.filter(state=State.MINISTERIAL_REVIEW)
        .select_related("territory__pilot_region")
        .order_by("ministerial_review_at", "pk")
    )
    return section(contracts)


def ministry_signed_off_without_wave() -> Section:
    in_a_wave = WaveItem.objects.filter(contract=OuterRef("pk"), active=True)
    contracts = (
        TerritoryContract.objects.filter(state=State.SIGNED_OFF)
        .filter(~Exists(in_a_wave))
        .select_related("territory__pilot_region")
        .order_by("signed_off_at", "pk")
    )
    return section(contracts)


def next_planned_wave(today: date) -> Wave | None:
    return (
        Wave.objects.filter(state=WaveState.PLANNED, date__gte=today)
        .annotate(contract_count=Count("items", filter=Q(items__active=True)))
        .order_by("date", "pk")
        .first()
    )


def ministry_derogations_to_decide() -> Section:
    requests = (
        DerogationRequest.objects.filter(state=State.MINISTERIAL_REVIEW)
        .select_related("territory__pilot_region")
        .order_by("ministerial_review_at", "pk")
    )
    return section(requests)


# Operator agent.


def operator_opinions(profile: Profile, today: date) -> Section:
    pending = Q(verdict="")
    opinions = (
        Opinion.objects.filter(organisation_id__in=profile.operator_organisations)
        .select_related("case__territory", "organisation")
        .annotate(
            case_title=SqlCase(
                When(case__kind=Case.Kind.CONTRACT, then=F("case__territorycontract__title")),
                default=F("case__derogationrequest__title"),
            ),
            waiting=SqlCase(When(pending, then=Value(0)), default=Value(1)),
        )
        .order_by("waiting", "due_on", "pk")
    )
    return section(opinions, pending=pending, overdue=pending & Q(due_on__lt=today))


def operator_funded_contracts(user, totals: dict) -> Section:
    """The contracts asking the user's operator for money, with what its lines ask and
    what it committed, apart. Counted by ``operator_totals``: a window count here would
    make PostgreSQL test every contract against the operator's lines before the LIMIT."""
    lines = FinancingLine.objects.filter(
        funder__in=operator_codes(user), action__contract=OuterRef("pk")
    )

    def total(queryset, column: str):
        summed = queryset.values("action__contract").annotate(s=Sum(column)).values("s")[:1]
        return Coalesce(Subquery(summed, output_field=MONEY), Value(0, output_field=MONEY))

    actions = (
        lines.values("action__contract").annotate(n=Count("action", distinct=True)).values("n")[:1]
    )
    contracts = (
        funded_contracts_for_user(user)
        .annotate(
            requested=total(lines, "amount"),
            committed=total(
                lines.filter(status=FinancingLine.Status.COMMITTED), "committed_amount"
            ),
            action_count=Coalesce(
                Subquery(actions, output_field=IntegerField()),
                Value(0, output_field=IntegerField()),
            ),
        )
        .order_by("-updated_at", "-pk")
    )
    return Section(rows=list(contracts[:SECTION_SIZE]), counts={"total": totals["contracts"]})


def operator_totals(profile: Profile) -> dict:
    """Over every submitted contract (the rule of
    ``cases.contracts.selectors.funded_contracts_for_user``, on the funder codes the profile
    has read already): what the operator is asked for, what it committed, on how many
    fiches-actions and contracts."""
    totals = FinancingLine.objects.filter(
        funder__in=profile.operators, action__contract__submitted_at__isnull=False
    ).aggregate(
        requested=Coalesce(Sum("amount"), Value(0, output_field=MONEY)),
        committed=Coalesce(
            Sum("committed_amount", filter=Q(status=FinancingLine.Status.COMMITTED)),
            Value(0, output_field=MONEY),
        ),
        actions=Count("action", distinct=True),
        contracts=Count("action__contract", distinct=True),
    )
    return totals
