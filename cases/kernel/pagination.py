"""Keyset pagination: pages follow an opaque cursor, never a COUNT and an OFFSET.

A page is the rows after (or before) the last (first) row seen, in one indexed order whose
last key is unique (the primary key), so that rows with equal dates keep one stable order
and a page costs the same at the 200th page as at the first.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import F, IntegerField, Q, QuerySet
from django.db.models.expressions import RawSQL

from cases.kernel import french

PAGE_SIZE = 20
# A count past this is shown as « plus de 1 000 »: it costs a bounded scan, never all rows.
COUNT_LIMIT = 1000


class InvalidCursor(ValueError):
    message = "Le lien de page est invalide ou périmé : voici la première page."


@dataclass(frozen=True)
class Keyset:
    """The order of a list: field names with their kind ("datetime", "date" or "int"), the
    last one unique; ``descending`` for the most recent first. With ``nulls_last`` the first
    field may be null, and its nulls come after every value (the order a B-tree index keeps
    ascending), so that a list sorted by due date ends with the cases that have none."""

    fields: tuple[tuple[str, str], ...]
    descending: bool = True
    nulls_last: bool = False

    def order(self, backwards: bool = False) -> list:
        sign = "-" if self.descending != backwards else ""
        keys: list = [f"{sign}{name}" for name, _ in self.fields]
        if self.nulls_last:
            first = F(self.fields[0][0])
            nulls = {"nulls_first": True} if backwards else {"nulls_last": True}
            keys[0] = first.asc(**nulls) if sign == "" else first.desc(**nulls)
        return keys

    def after(self, values: list, backwards: bool = False) -> Q:
        """The rows past ``values`` in the list's order (before them if ``backwards``)."""
        if self.nulls_last:
            return self._after_nullable(values, backwards)
        return self._after(self.fields, values, backwards)

    def _after(self, fields, values: list, backwards: bool) -> Q:
        lookup = "lt" if self.descending != backwards else "gt"
        names = [name for name, _ in fields]
        condition = Q()
        for index, name in enumerate(names):
            equal = {names[i]: values[i] for i in range(index)}
            condition |= Q(**equal, **{f"{name}__{lookup}": values[index]})
        # The first key bounded on its own lets the index range scan start at the cursor.
        return Q(**{f"{names[0]}__{lookup}e": values[0]}) & condition

    def _after_nullable(self, values: list, backwards: bool) -> Q:
        """The nulls of the first field form the list's tail, ordered by the other fields."""
        first, rest = self.fields[0][0], self.fields[1:]
        null = Q(**{f"{first}__isnull": True})
        if values[0] is None:
            among_nulls = null & self._after(rest, values[1:], backwards)
            # Back from the tail: every row with a value comes before it.
            return (among_nulls | ~null) if backwards else among_nulls
        among_values = self._after(self.fields, values, backwards)
        return among_values if backwards else (among_values | null)

    def values_of(self, row) -> list:
        return [getattr(row, name) for name, _ in self.fields]

    def encode(self, values: list, backwards: bool) -> str:
        plain = [value.isoformat() if isinstance(value, date) else value for value in values]
        data = json.dumps({"k": plain, "b": backwards}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    def decode(self, cursor: str) -> tuple[list, bool]:
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
            raw, backwards = data["k"], data["b"]
            if not isinstance(raw, list) or len(raw) != len(self.fields):
                raise InvalidCursor
            if not isinstance(backwards, bool):
                raise InvalidCursor
            values: list[Any] = []
            for index, (value, (_, kind)) in enumerate(zip(raw, self.fields, strict=True)):
                if value is None and index == 0 and self.nulls_last:
                    values.append(None)
                elif kind == "date":
                    if not isinstance(value, str) or len(value) != 10:
                        raise InvalidCursor
                    values.append(date.fromisoformat(value))
                elif kind == "datetime":
                    if not isinstance(value, str):
                        raise InvalidCursor
                    moment = datetime.fromisoformat(value)
                    if moment.tzinfo is None:
                        raise InvalidCursor
                    values.append(moment)
                elif kind == "int":
                    if type(value) is not int or not 0 <= value < 2**63:
                        raise InvalidCursor
                    values.append(value)
                else:
                    raise InvalidCursor
            return values, backwards
        except (
            ValueError,
            KeyError,
            TypeError,
            UnicodeError,
            binascii.Error,
            json.JSONDecodeError,
        ) as error:
            raise InvalidCursor from error


@dataclass
class CursorPage:
    rows: list
    next_cursor: str | None
    previous_cursor: str | None
    # How many rows the whole list holds, up to COUNT_LIMIT; None past it.
    count: int | None = 0

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous


COUNT_ALIAS = "bounded_total"


def with_bounded_count(queryset: QuerySet, limit: int = COUNT_LIMIT) -> QuerySet:
    """``queryset`` with, on each row, how many rows it holds up to ``limit + 1``: a
    subquery the database runs once, so that the page and its count are one query."""
    sql, params = queryset.order_by().values("pk")[: limit + 1].query.sql_with_params()
    return queryset.annotate(
        **{
            COUNT_ALIAS: RawSQL(  # noqa: S611 - the ORM compiled it, with its parameters
                f"SELECT COUNT(*) FROM ({sql}) AS bounded",  # noqa: S608 - made by the ORM
                params,
                output_field=IntegerField(),
            )
        }
    )


def paginate(
    queryset: QuerySet, keyset: Keyset, cursor: str | None, size: int = PAGE_SIZE
) -> CursorPage:
    """One page of ``queryset`` in ``keyset``'s order, from ``cursor`` (the first page when
    empty), with the list's bounded count. Raises InvalidCursor on a cursor this list did
    not make. One query (two for an empty page past the first)."""
    backwards = False
    counted = with_bounded_count(queryset)
    if cursor:
        values, backwards = keyset.decode(cursor)
        counted = counted.filter(keyset.after(values, backwards))
    rows = list(counted.order_by(*keyset.order(backwards))[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    if not rows:
        count = bounded_counts(queryset)[0] if cursor else 0
        return CursorPage(rows, None, None, count)
    total = getattr(rows[0], COUNT_ALIAS)
    first, last = keyset.values_of(rows[0]), keyset.values_of(rows[-1])
    # Going forward there is a previous page whenever a cursor led here; going back, there
    # is a next page (the one we came from).
    has_previous = more if backwards else bool(cursor)
    has_next = True if backwards else more
    return CursorPage(
        rows,
        keyset.encode(last, backwards=False) if has_next else None,
        keyset.encode(first, backwards=True) if has_previous else None,
        total if total <= COUNT_LIMIT else None,
    )


def bounded_counts(*querysets: QuerySet, limit: int = COUNT_LIMIT) -> list[int | None]:
    """How many rows each queryset holds, up to ``limit``; None past it (« plus de … »).
    One query for all of them, each count stopping after ``limit + 1`` rows."""
    if not querysets:
        return []
    parts: list[str] = []
    params: list = []
    for queryset in querysets:
        sql, part_params = queryset.order_by().values("pk")[: limit + 1].query.sql_with_params()
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS bounded)")  # noqa: S608 - ORM-made
        params.extend(part_params)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}", params)
        row = cursor.fetchone()
    return [count if count <= limit else None for count in row]


def count_label(count: int | None, singular: str, plural: str | None = None, **kwargs) -> str:
    """« Aucun contrat », « 12 contrats », « Plus de 1 000 contrats »."""
    if count is None:
        return f"Plus de {french.group_digits(COUNT_LIMIT)}{french.NBSP}{plural or singular + 's'}"
    return french.count_fr(count, singular, plural, **kwargs)


def page_query(request, *, drop: tuple[str, ...] = ("cursor",)) -> str:
    """The list's query string without its cursor, for the links to the other pages."""
    query = request.GET.copy()
    for name in drop:
        query.pop(name, None)
    return query.urlencode()
