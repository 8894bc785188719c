"""Queries scoped to a user: every lookup from a request goes through here."""

from collections.abc import Iterable
from decimal import Decimal

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    F,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    prefetch_related_objects,
)
from django.db.models.fields.json import KeyTextTransform

from accounts.models import Membership, Role
from accounts.scoping import (
    NATIONAL_ROLES,
    epci_territories,
    piloted_territories,
    roles_of,
    territories_for_user,
)
from cases import permissions as perms
from cases.models import (
    FUNDER_LABELS,
    ActionSheet,
    Axis,
    Case,
    CaseEvent,
    Comment,
    DerogationRequest,
    Document,
    FinancingLine,
    Opinion,
    TerritoryContract,
    Wave,
    WaveEvent,
    WaveItem,
)


def operator_codes(user) -> QuerySet:
    """The funder codes of the operators the user is an agent of."""
    return (
        Membership.objects.filter(user=user, role=Role.OPERATOR_AGENT)
        .exclude(organisation__operator="")
        .values("organisation__operator")
    )


def _funded(user) -> QuerySet:
    """The ids of the contracts holding a financing line of one of the user's operators,
    once submitted: a draft is its EPCI's own work until then."""
    return FinancingLine.objects.filter(
        funder__in=operator_codes(user), action__contract__submitted_at__isnull=False
    ).values("action__contract_id")


def _visible(user) -> Q:
    """A case's territory is in the user's scope, the user's organisation was consulted on
    it, or it asks the user's operator for money."""
    consulted = Opinion.objects.filter(organisation__memberships__user=user).values("case_id")
    return (
        Q(territory__in=territories_for_user(user)) | Q(pk__in=consulted) | Q(pk__in=_funded(user))
    )


def cases_for_user(user) -> QuerySet[Case]:
    if not user.is_authenticated or not user.is_active:
        return Case.objects.none()
    return Case.objects.filter(_visible(user))


def derogations_for_user(user) -> QuerySet[DerogationRequest]:
    if not user.is_authenticated or not user.is_active:
        return DerogationRequest.objects.none()
    return DerogationRequest.objects.filter(_visible(user)).select_related(
        "territory__pilot_region", "applicant", "call"
    )


def similar_requests(user, request: DerogationRequest) -> QuerySet[DerogationRequest]:
    """Other requests on the same legal reference, among those the user may see."""
    if not request.rule_reference_key:
        return DerogationRequest.objects.none()
    return (
        derogations_for_user(user)
        .filter(rule_reference_key=request.rule_reference_key)
        .exclude(pk=request.pk)
        .order_by("-updated_at")
    )


def opinions_for_user(user, case: Case) -> QuerySet[Opinion]:
    """Every opinion for the reviewing institutions; their own for the consulted."""
    opinions = case.opinions.select_related("organisation", "answered_by", "requested_by")
    if perms.is_reviewing_institution(user, case):
        return opinions
    return opinions.filter(organisation__memberships__user=user)


def contracts_for_user(user) -> QuerySet[TerritoryContract]:
    """The contracts of the user's territories, and those that ask the user's operator
    for money (which its agents read, and answer on their own lines only)."""
    if not user.is_authenticated or not user.is_active:
        return TerritoryContract.objects.none()
    # The funded contracts as a correlated EXISTS, not as ``pk IN (…)``: with the IN, the
    # planner sorted all 100,000 contracts for every list page instead of reading the
    # (updated_at, id) index down to its twenty rows (150 ms against 0.3 ms).
    # The uncorrelated EXISTS first, evaluated once: for whoever is no operator's agent the
    # correlated one is never run, row after row.
    operator = Membership.objects.filter(user=user, role=Role.OPERATOR_AGENT)
    lines = FinancingLine.objects.filter(
        action__contract=OuterRef("pk"), funder__in=operator_codes(user)
    )
    return TerritoryContract.objects.filter(
        Q(territory__in=territories_for_user(user))
        | (Q(Exists(operator)) & Q(submitted_at__isnull=False) & Q(Exists(lines)))
    ).select_related("territory__pilot_region")


def contracts_in_scope(user, roles: set[str]) -> QuerySet[TerritoryContract]:
    """``contracts_for_user``, the same rows, given the user's ``roles`` (``roles_of``): in a
    form the planner sizes right. Its ORs (national, EPCI, Region, operator) made the
    planner expect most contracts for everyone and read them all; here a national role
    has no condition, and an EPCI agent or a Region's reviewer only the territories of
    their roles. An operator's agent keeps the general condition."""
    territorial = {Role.EPCI_AGENT: epci_territories, Role.REGION_REVIEWER: piloted_territories}
    if roles & set(NATIONAL_ROLES) and user.is_authenticated and user.is_active:
        return TerritoryContract.objects.select_related("territory__pilot_region")
    if Role.OPERATOR_AGENT in roles or not roles & set(territorial):
        return contracts_for_user(user)
    territories = Q()
    for role, scope in territorial.items():
        if role in roles:
            territories |= Q(territory__in=scope(user).values("pk"))
    return TerritoryContract.objects.filter(territories).select_related("territory__pilot_region")


class AmongIds(Func):
    """``column = ANY(ARRAY(subquery))`` on PostgreSQL: the subquery runs once, before the
    rows are read, and the column's index reads only the rows it names; ``column IN
    (subquery)`` elsewhere (SQLite)."""

    output_field = BooleanField()

    def __init__(self, column: str, ids: QuerySet):
        super().__init__(F(column), Subquery(ids.order_by()))

    def parts(self, compiler, connection) -> tuple[str, str, tuple]:
        column, column_params = compiler.compile(self.source_expressions[0])
        ids, ids_params = compiler.compile(self.source_expressions[1])
        return column, ids, (*column_params, *ids_params)

    def as_sql(self, compiler, connection, function=None, template=None, arg_joiner=None, **extra):
        column, ids, params = self.parts(compiler, connection)
        return f"{column} IN {ids}", params

    def as_postgresql(self, compiler, connection, **extra):
        column, ids, params = self.parts(compiler, connection)
        return f"{column} = ANY(ARRAY{ids})", params


def actions_for_user(user) -> QuerySet[ActionSheet]:
    """The fiches-actions of the contracts ``contracts_for_user`` gives, in the form the
    planner reads best for the user's roles (read first, one query).

    ``contract IN (contracts_for_user)``, one condition with ORs, let the planner only test
    it on the fiche-actions one after the other down their keyset order: fine when the user
    sees much (an operator's agent, asked about most contracts), but an EPCI agent's page
    read 120,000 fiche-actions at 30,000 contracts (370 ms) to find its 820. National roles
    see every fiche-action: no condition. An EPCI agent sees one or two territories: their
    few contract ids first, then the contract_id index (AmongIds). A Region's reviewer,
    thousands of contracts: the same ids as a semi-join the planner sizes from the Region's
    territories."""
    if not user.is_authenticated or not user.is_active:
        return ActionSheet.objects.filter(contract__in=contracts_for_user(user))
    roles = roles_of(user)
    if roles & set(NATIONAL_ROLES):
        return ActionSheet.objects.all()
    territorial = {Role.EPCI_AGENT: epci_territories, Role.REGION_REVIEWER: piloted_territories}
    if Role.OPERATOR_AGENT in roles or not roles & set(territorial):
        return ActionSheet.objects.filter(contract__in=contracts_for_user(user).values("pk"))
    territories = Q()
    for role, scope in territorial.items():
        if role in roles:
            territories |= Q(territory__in=scope(user).values("pk"))
    ids = Case.objects.filter(territories).values("pk")
    if roles == {Role.EPCI_AGENT}:
        return ActionSheet.objects.filter(AmongIds("contract_id", ids))
    return ActionSheet.objects.filter(contract_id__in=ids)


def funded_contracts_for_user(user) -> QuerySet[TerritoryContract]:
    """Only the contracts that ask one of the user's operators for money."""
    if not user.is_authenticated or not user.is_active:
        return TerritoryContract.objects.none()
    return TerritoryContract.objects.filter(pk__in=_funded(user)).select_related(
        "territory__pilot_region"
    )


def comments_for_user(user, case: Case) -> QuerySet[Comment]:
    comments = case.comments.select_related("author")
    if perms.is_reviewing_institution(user, case):
        return comments
    return comments.filter(private=False)


def events_for_user(user, case: Case) -> QuerySet[CaseEvent]:
    events = case.events.select_related("actor").order_by("seq")
    if perms.is_reviewing_institution(user, case):
        return events
    return events.filter(private=False)


def documents_for_user(user, case: Case) -> QuerySet[Document]:
    """Private documents (attached to an opinion) go to the reviewing institutions and to
    the organisation that wrote the opinion; the others, to every party."""
    documents = case.documents.select_related("uploaded_by")
    if perms.is_reviewing_institution(user, case):
        return documents
    own = Opinion.objects.filter(organisation__memberships__user=user).values("document_id")
    return documents.filter(Q(private=False) | Q(pk__in=own))


def document_for_user(user, pk: int) -> QuerySet[Document]:
    case = cases_for_user(user).filter(documents__pk=pk).first()
    if case is None:
        return Document.objects.none()
    return documents_for_user(user, case).filter(pk=pk)


def actions_of(contract: TerritoryContract) -> QuerySet[ActionSheet]:
    """The fiches-actions and their lines, kept on the contract for the rest of the page: its
    guards (« at least one fiche-action ») then read them from there, not from the database."""
    fiches = ActionSheet.objects.prefetch_related("financings")
    prefetch_related_objects([contract], Prefetch("actions", queryset=fiches))
    return contract.actions.all()


def contract_totals(actions: Iterable[ActionSheet]) -> dict:
    """Costs per axis, and per funder what is requested (every line's amount), committed
    (what the funders committed, on their committed lines) and declined (the amount asked
    of the lines declined): never added into one figure. Added up here from the page's own
    fiches-actions and their prefetched lines (``actions_of``), not read again."""
    zero = Decimal("0")
    by_axis = dict.fromkeys(Axis.values, zero)
    funders: dict[str, dict] = {}
    for action in actions:
        by_axis[action.axis] = by_axis.get(action.axis, zero) + (action.total_cost or zero)
        for line in action.financings.all():
            row = funders.setdefault(
                line.funder,
                {
                    "funder": line.funder,
                    "label": FUNDER_LABELS.get(line.funder, line.funder),
                    "requested": zero,
                    "committed": zero,
                    "declined": zero,
                },
            )
            row["requested"] += line.amount or zero
            if line.status == FinancingLine.Status.COMMITTED:
                row["committed"] += line.committed_amount or zero
            elif line.status == FinancingLine.Status.DECLINED:
                row["declined"] += line.amount or zero
    by_funder = sorted(funders.values(), key=lambda row: row["label"])
    return {
        "by_axis": [(label, by_axis[value]) for value, label in Axis.choices],
        "total_cost": sum(by_axis.values(), zero),
        "by_funder": by_funder,
        "total_requested": sum((row["requested"] for row in by_funder), zero),
        "total_committed": sum((row["committed"] for row in by_funder), zero),
        "total_declined": sum((row["declined"] for row in by_funder), zero),
    }


def _is_national(user) -> bool:
    return Membership.objects.filter(user=user, role__in=NATIONAL_ROLES).exists()


def waves_for_user(user) -> QuerySet[Wave]:
    """National roles see every wave; the others, the waves holding a contract they see
    (the rule of ``contracts_for_user``, branch by branch)."""
    if not user.is_authenticated or not user.is_active:
        return Wave.objects.none()
    # The national check inside the query, not a query of its own (see territories_for_user).
    national = Membership.objects.filter(user=user, role__in=NATIONAL_ROLES)
    operator = Membership.objects.filter(user=user, role=Role.OPERATOR_AGENT)
    # One EXISTS per territorial way of seeing a contract, on the wave's own items: under
    # ``pk IN (items of every visible contract)`` the planner read all 100,000 contracts to
    # find an EPCI agent's wave (45 ms), where the items of one wave take under 1 ms.
    items = WaveItem.objects.filter(wave=OuterRef("pk"), active=True)
    # An operator's agent is asked about most contracts: the general rule as a set, which
    # the planner reads best for them (230 ms against 430 ms for per-wave EXISTS); the
    # uncorrelated EXISTS first, so that for whoever is no operator's agent it never runs.
    funded = WaveItem.objects.filter(
        active=True, contract__in=contracts_for_user(user).values("pk")
    ).values("wave_id")
    return Wave.objects.filter(
        Q(Exists(national))
        | Q(Exists(items.filter(contract__territory__in=epci_territories(user).values("pk"))))
        | Q(Exists(items.filter(contract__territory__in=piloted_territories(user).values("pk"))))
        | (Q(Exists(operator)) & Q(pk__in=funded))
    )


def wave_list_for_user(user) -> QuerySet[Wave]:
    """The waves, each with the number of its contracts the user may see."""
    visible = contracts_for_user(user).values("pk")
    return waves_for_user(user).annotate(
        contract_count=Count("items", filter=Q(items__contract__in=visible), distinct=True)
    )


def sees_whole_wave(user) -> bool:
    """Who may read a wave's every contract, and so its stored PDF, which lists them all."""
    return user.is_authenticated and user.is_active and _is_national(user)


def wave_contracts_for_user(
    user, wave: Wave, *, roles: set[str] | None = None
) -> QuerySet[TerritoryContract]:
    """The wave's contracts within the user's scope: a wave spans several territories, and
    each territory's parties read only their own contract. ``roles``: the user's
    (``roles_of``), when the caller has read them, for a scope the planner sizes right."""
    # The wave's few thousand ids first, then the contracts' primary key: under a plain
    # IN the planner read every contract of the scope and joined the wave's items to them.
    items = WaveItem.objects.filter(wave=wave, active=True).values("contract_id")
    scope = contracts_for_user(user) if roles is None else contracts_in_scope(user, roles)
    return scope.filter(AmongIds("pk", items)).order_by("pk")


def wave_visible_references(user, wave: Wave, *, roles: set[str] | None = None) -> set[str] | None:
    """The references of the contracts the wave's history names that the user may see, in
    one query (looked for among those the wave's entries name, not among every contract);
    None when the user sees the whole wave. ``roles``: the user's (``roles_of``), when the
    caller has read them, for a scope the planner sizes right."""
    if sees_whole_wave(user) if roles is None else bool(roles & set(NATIONAL_ROLES)):
        return None
    named = (
        WaveEvent.objects.filter(wave=wave, payload__has_key="contract")
        .annotate(reference=KeyTextTransform("contract", "payload"))
        .values("reference")
    )
    scope = contracts_for_user(user) if roles is None else contracts_in_scope(user, roles)
    found = scope.filter(reference__in=named).values_list("reference", flat=True)
    return {reference for reference in found if reference}


def wave_events_for_user(wave: Wave, visible: set[str] | None) -> QuerySet[WaveEvent]:
    """The wave's history, without the entries adding or removing a contract outside
    ``visible`` (``wave_visible_references``; None: every entry): a condition of the query,
    so that a page of it is read down the (wave, seq) index whatever the wave's size. The
    validation's list of contracts is trimmed on the page's rows by ``visible_payloads``."""
    events = wave.events.select_related("actor")
    if visible is None:
        return events
    return events.annotate(named_contract=KeyTextTransform("contract", "payload")).filter(
        ~Q(payload__has_key="contract") | Q(named_contract__in=sorted(visible))
    )


def visible_payloads(events: list[WaveEvent], visible: set[str] | None) -> list[WaveEvent]:
    """These events (a page of ``wave_events_for_user``) with the validation's lists cut
    down to the ``visible`` contracts: every contract it lists entered the wave by an entry
    of its history, so ``wave_visible_references`` holds those the user may see."""
    if visible is None:
        return events
    for event in events:
        if "contracts" in event.payload:
            # In memory only: the stored payload is hashed in the wave's chain.
            event.payload = {
                **event.payload,
                "contracts": [ref for ref in event.payload["contracts"] if ref in visible],
                "derogations": [],
                "document": None,
            }
    return events
