"""The filtered lists (contracts, fiches-actions, derogation requests): their querysets, in
the user's scope, and the choices of their filters.

Each filter is a condition the list's keyset order can run under: an ``EXISTS`` on the rows
that hang off the contract rather than a join that would repeat it, so that the page query
stops after its twenty rows instead of sorting them all.
"""

import unicodedata
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import (
    BooleanField,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from cases import selectors
from cases.compiled import UserQuery
from cases.models import (
    ActionSheet,
    CallForProjects,
    DerogationRequest,
    FinancingLine,
    TerritoryContract,
    WaveItem,
    due_window,
    rule_reference_key,
)
from cases.pagination import Keyset
from territories.models import Territory

ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=2))
CASE_ORDER = Keyset((("updated_at", "datetime"), ("pk", "int")))
ACTION_ORDER = Keyset((("pk", "int"),))
# « Échéance la plus proche »: the cases with no answer due (drafts, closed cases) last.
DUE_ORDER = Keyset((("due_on", "date"), ("pk", "int")), descending=False, nulls_last=True)


def case_order(data: dict | None) -> Keyset:
    return DUE_ORDER if data and data.get("sort") == "due" else CASE_ORDER


def due(data: dict) -> Q:
    """The « En retard » or « Bientôt dû » filter, counted from today in Paris."""
    return due_window(data["due"], timezone.localdate()) if data.get("due") else Q()


def french_key(text: str) -> str:
    """« Béthune » before « Bretagne », « Évry » among the E."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()


def start_of(day: date) -> datetime:
    """Midnight of ``day`` in Paris: a date typed in the filter is a French day."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def period(field: str, since: date | None, until: date | None) -> Q:
    """``since`` and ``until`` both included, as ranges on the column (so its index serves)."""
    condition = Q()
    if since:
        condition &= Q(**{f"{field}__gte": start_of(since)})
    if until:
        condition &= Q(**{f"{field}__lt": start_of(until + timedelta(days=1))})
    return condition


def territory_rows(territories: QuerySet[Territory], creatable=None) -> QuerySet:
    """Plain rows (no model instances for 148 territories): pk, name, Region pk, Region
    name, and whether the user may start a case on it (``creatable``, a queryset of
    territories; always false without it)."""
    flag = (
        ExpressionWrapper(Q(pk__in=creatable.values("pk")), output_field=BooleanField())
        if creatable is not None
        else Value(False)
    )
    return territories.values_list("pk", "name", "pilot_region_id", "pilot_region__name", flag)


def scope_choices(rows) -> tuple[list, list, bool]:
    """The Regions and territories of ``territory_rows`` for the filters, in French order,
    and whether one of them is creatable."""
    regions = {region: region_name for _, _, region, region_name, _ in rows}
    return (
        sorted(regions.items(), key=lambda item: french_key(item[1])),
        sorted(((pk, name) for pk, name, _, _, _ in rows), key=lambda item: french_key(item[1])),
        any(bool(row[4]) for row in rows),
    )


def territory_choices(territories: QuerySet[Territory], creatable=None) -> tuple[list, list, bool]:
    """The Regions and territories of the user's scope for the filters, and whether the
    user may start a case on one of them (``creatable``, a queryset of territories), in one
    query."""
    return scope_choices(list(territory_rows(territories, creatable)))


# The filters' waves: the same query for every page and user but for the user's id.
WAVES = UserQuery(
    lambda user: selectors.waves_for_user(user).order_by("-date", "-pk").values_list("pk", "name")
)


def wave_choices(user) -> list:
    return WAVES.rows(user)


def call_choices() -> list:
    return list(CallForProjects.objects.order_by("-opens_at").values_list("pk", "name"))


def in_wave(contract_ref: str, wave: int) -> Exists:
    return Exists(WaveItem.objects.filter(contract=OuterRef(contract_ref), wave=wave, active=True))


def contract_list(user, data: dict | None) -> QuerySet[TerritoryContract]:
    """The contracts the user may see, with the filters of ``data`` (a cleaned filter form)."""
    actions = ActionSheet.objects.filter(contract=OuterRef("pk"))
    contracts = selectors.contracts_for_user(user).annotate(
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
        selectors.actions_for_user(user)
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


def derogation_list(user, data: dict | None) -> QuerySet[DerogationRequest]:
    requests = selectors.derogations_for_user(user)
    if not data:
        return requests
    if data.get("q"):
        text = data["q"]
        requests = requests.filter(
            Q(title__icontains=text)
            | Q(reference__icontains=text)
            | Q(rule_reference__icontains=text)
            | Q(territory__name__icontains=text)
        )
    for name, lookup in (
        ("call", "call_id"),
        ("state", "state"),
        ("outcome", "outcome"),
        ("region", "territory__pilot_region_id"),
    ):
        if data.get(name):
            requests = requests.filter(**{lookup: data[name]})
    requests = requests.filter(due(data))
    if data.get("rule"):
        # The key matches every spelling of the same text (and a key given as is).
        requests = requests.filter(rule_reference_key=rule_reference_key(data["rule"]))
    return requests.filter(period("submitted_at", data.get("since"), data.get("until")))
