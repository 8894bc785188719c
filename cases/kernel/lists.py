"""What the filtered lists share (each kind's lists, ``cases.<kind>.lists``, build on it: the
contracts, fiches-actions, derogation requests): their orders, the due and period filters,
the territories of the filters.

Each filter is a condition the list's keyset order can run under: an ``EXISTS`` on the rows
that hang off the contract rather than a join that would repeat it, so that the page query
stops after its twenty rows instead of sorting them all.
"""

import unicodedata
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import (
    BooleanField,
    DecimalField,
    ExpressionWrapper,
    Q,
    QuerySet,
    Value,
)
from django.utils import timezone

from cases.kernel.models import due_window
from cases.kernel.pagination import Keyset
from territories.models import Territory

ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=2))
CASE_ORDER = Keyset((("updated_at", "datetime"), ("pk", "int")))
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
