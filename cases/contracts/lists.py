"""The filtered lists of contracts and fiches-actions (see ``cases.kernel.lists``)."""

from collections.abc import Callable

from django.db.models import (
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce

from cases.contracts import selectors as contract_selectors
from cases.contracts.models import ActionSheet, FinancingLine, TerritoryContract
from cases.kernel.lists import ZERO, due, period
from cases.kernel.pagination import Keyset

ACTION_ORDER = Keyset((("pk", "int"),))


# The lists filter on a contract's wave, which the waves (cases.waves.lists) know and the
# contracts come before: the waves give the filter its choices ("choices", the user's waves)
# and its condition ("condition", a contract reference in a wave) when imported (cases.apps).
WAVE_FILTER: dict[str, Callable] = {}


def wave_choices(user) -> list:
    return WAVE_FILTER["choices"](user)


def in_wave(contract_ref: str, wave: int) -> Exists:
    return WAVE_FILTER["condition"](contract_ref, wave)


def contract_list(user, data: dict | None) -> QuerySet[TerritoryContract]:
    """The contracts the user may see, with the filters of ``data`` (a cleaned filter form)."""
    actions = ActionSheet.objects.filter(contract=OuterRef("pk"))
    contracts = contract_selectors.contracts_for_user(user).annotate(
        # Counted for the page's rows only, not grouped over the whole list.
        action_count=Subquery(
            actions.order_by().values("contract").annotate(n=Count("*")).values("n")
        )
    )
    if not data:
        return contracts
    if data.get("q"):
        text = data["q"]
        contracts = contracts.filter(
            Q(title__icontains=text)
            | Q(reference__icontains=text)
            | Q(territory__name__icontains=text)
        )
    if data.get("state"):
        contracts = contracts.filter(state=data["state"])
    contracts = contracts.filter(due(data))
    if data.get("region"):
        contracts = contracts.filter(territory__pilot_region_id=data["region"])
    if data.get("territory"):
        contracts = contracts.filter(territory_id=data["territory"])
    if data.get("wave"):
        contracts = contracts.filter(in_wave("pk", data["wave"]))
    if data.get("axis"):
        contracts = contracts.filter(Exists(actions.filter(axis=data["axis"])))
    if data.get("funder"):
        lines = FinancingLine.objects.filter(action__contract=OuterRef("pk"), funder=data["funder"])
        contracts = contracts.filter(Exists(lines))
    return contracts.filter(period("submitted_at", data.get("since"), data.get("until")))


def action_list(user, data: dict | None) -> QuerySet[ActionSheet]:
    """The fiches-actions of the contracts the user may see, with their requested and
    committed money, and the filters of ``data``."""
    lines = FinancingLine.objects.filter(action=OuterRef("pk")).order_by().values("action")
    actions = (
        contract_selectors.actions_for_user(user)
        .select_related("contract__territory__pilot_region")
        .annotate(
            requested=Coalesce(Subquery(lines.annotate(s=Sum("amount")).values("s")), ZERO),
            committed=Coalesce(
                Subquery(
                    lines.filter(status="committed").annotate(s=Sum("committed_amount")).values("s")
                ),
                ZERO,
            ),
        )
    )
    if not data:
        return actions
    if data.get("region"):
        actions = actions.filter(contract__territory__pilot_region_id=data["region"])
    for name in ("axis", "status"):
        if data.get(name):
            actions = actions.filter(**{name: data[name]})
    if data.get("funder") or data.get("line_status"):
        # One line of that funder in that status (either alone when only one is given).
        wanted = FinancingLine.objects.filter(action=OuterRef("pk"))
        if data.get("funder"):
            wanted = wanted.filter(funder=data["funder"])
        if data.get("line_status"):
            wanted = wanted.filter(status=data["line_status"])
        actions = actions.filter(Exists(wanted))
    if data.get("wave"):
        actions = actions.filter(in_wave("contract_id", data["wave"]))
    if data.get("state"):
        actions = actions.filter(contract__state=data["state"])
    return actions.filter(period("contract__submitted_at", data.get("since"), data.get("until")))
