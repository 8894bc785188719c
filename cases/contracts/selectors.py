"""What a user may read of territory contracts, their fiches-actions and financing lines."""

from collections.abc import Iterable
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser
from django.db.models import (
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    prefetch_related_objects,
)

from accounts.models import Membership, Role, User
from accounts.scoping import (
    NATIONAL_ROLES,
    epci_territories,
    piloted_territories,
    roles_of,
    territories_for_user,
)
from cases.contracts.models import (
    FUNDER_LABELS,
    ActionSheet,
    Axis,
    ContractAmendment,
    FinancingLine,
    Signature,
    TerritoryContract,
)
from cases.kernel.models import Case
from cases.kernel.selectors import VISIBLE_CASE_IDS, AmongIds, operator_codes


def funded_contract_ids(user: User) -> QuerySet:
    """The ids of the contracts holding a financing line of one of the user's operators,
    once submitted: a draft is its EPCI's own work until then."""
    return FinancingLine.objects.filter(
        funder__in=operator_codes(user), action__contract__submitted_at__isnull=False
    ).values("action__contract_id")


VISIBLE_CASE_IDS.append(funded_contract_ids)


def signing_amendment_ids(user: User) -> QuerySet:
    """The avenants an operator of the user signs (a new partner), or whose contract asks
    the user's operator for money."""
    signs = Signature.objects.filter(
        party="operator", party_ref__in=operator_codes(user), amendment__isnull=False
    ).values("amendment_id")
    # Once submitted, as a contract: a draft is its EPCI's own work until then.
    funded = ContractAmendment.objects.filter(
        parent_id__in=funded_contract_ids(user), submitted_at__isnull=False
    ).values("pk")
    return ContractAmendment.objects.filter(Q(pk__in=signs) | Q(pk__in=funded)).values("pk")


VISIBLE_CASE_IDS.append(signing_amendment_ids)


def amendments_for_user(user: User | AnonymousUser) -> QuerySet[ContractAmendment]:
    """The avenants of the user's territories, and those the user's operator funds (once
    submitted) or signs."""
    if not user.is_authenticated or not user.is_active:
        return ContractAmendment.objects.none()
    return ContractAmendment.objects.filter(
        Q(territory__in=territories_for_user(user)) | Q(pk__in=signing_amendment_ids(user))
    )


def contracts_for_user(user: User | AnonymousUser) -> QuerySet[TerritoryContract]:
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


def contracts_in_scope(user: User | AnonymousUser, roles: set[str]) -> QuerySet[TerritoryContract]:
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


def actions_for_user(user: User | AnonymousUser) -> QuerySet[ActionSheet]:
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


def funded_contracts_for_user(user: User | AnonymousUser) -> QuerySet[TerritoryContract]:
    """Only the contracts that ask one of the user's operators for money."""
    if not user.is_authenticated or not user.is_active:
        return TerritoryContract.objects.none()
    return TerritoryContract.objects.filter(pk__in=funded_contract_ids(user)).select_related(
        "territory__pilot_region"
    )


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
