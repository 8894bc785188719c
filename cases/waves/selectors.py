"""What a user may read of contractualisation waves and their history."""

from django.contrib.auth.models import AnonymousUser
from django.db.models import (
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.fields.json import KeyTextTransform

from accounts.models import Membership, Role, User
from accounts.scoping import (
    NATIONAL_ROLES,
    epci_territories,
    piloted_territories,
)
from cases.contracts.models import TerritoryContract
from cases.contracts.selectors import contracts_for_user, contracts_in_scope
from cases.derogations.models import DerogationRequest
from cases.derogations.selectors import derogations_for_user
from cases.kernel.selectors import AmongIds, is_national
from cases.waves.models import Wave, WaveEvent, WaveItem


def waves_for_user(user: User | AnonymousUser) -> QuerySet[Wave]:
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


def wave_list_for_user(user: User | AnonymousUser) -> QuerySet[Wave]:
    """The waves, each with the number of its contracts the user may see."""
    visible = contracts_for_user(user).values("pk")
    return waves_for_user(user).annotate(
        contract_count=Count("items", filter=Q(items__contract__in=visible), distinct=True)
    )


def sees_whole_wave(user: User | AnonymousUser) -> bool:
    """Who may read a wave's every contract, and so its stored PDF, which lists them all."""
    return user.is_authenticated and user.is_active and is_national(user)


def wave_contracts_for_user(
    user: User | AnonymousUser, wave: Wave, *, roles: set[str] | None = None
) -> QuerySet[TerritoryContract]:
    """The wave's contracts within the user's scope: a wave spans several territories, and
    each territory's parties read only their own contract. ``roles``: the user's
    (``roles_of``), when the caller has read them, for a scope the planner sizes right."""
    # The wave's few thousand ids first, then the contracts' primary key: under a plain
    # IN the planner read every contract of the scope and joined the wave's items to them.
    items = WaveItem.objects.filter(wave=wave, active=True).values("contract_id")
    scope = contracts_for_user(user) if roles is None else contracts_in_scope(user, roles)
    return scope.filter(AmongIds("pk", items)).order_by("pk")


def wave_visible_references(
    user: User | AnonymousUser, wave: Wave, *, roles: set[str] | None = None
) -> set[str] | None:
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


def derogations_readable(
    user: User | AnonymousUser, derogations: list[DerogationRequest]
) -> list[DerogationRequest]:
    """Those of a wave's derogations the user may open: an operator reads the contracts it
    funds, not the derogation requests of their territories."""
    if not derogations:
        return derogations
    readable = set(
        derogations_for_user(user)
        .filter(pk__in=[derogation.pk for derogation in derogations])
        .values_list("pk", flat=True)
    )
    return [derogation for derogation in derogations if derogation.pk in readable]
