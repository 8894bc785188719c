"""Queries that every page of a kind runs for its user, compiled by the ORM once per process.

The filters of the lists offer the territories, Regions and waves of the user's scope, and
the header shows the user's notification figures. Their querysets nest the scope selectors
(``territories_for_user`` inside ``contracts_for_user`` inside ``waves_for_user``): building
and compiling them cost several times what the database takes to answer them (measured at
30,000 synthetic contracts: about 7 ms of Python for the waves' 2 ms of SQL). Their SQL
depends on the user only through the user's id, so it is compiled once, for a stand-in user
whose id no row holds, and run for each user with that id put in its place.

A selector that came to branch in Python on something else about the user (a role read
beforehand, say) would make that shape wrong for other users: tests/cases/kernel/test_lists_scale.py
compares, for a user of every role, these rows with those of the querysets themselves.
"""

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import QuerySet

# No user has this id (ids are positive), nor does any other parameter of these queries.
STAND_IN_ID = -7_340_215_911


class UserQuery:
    """``build(user)`` is a queryset of plain rows (``values_list``) for ``user``."""

    def __init__(self, build: Callable[[Any], QuerySet]):
        self.build = build
        self._compiled: dict[str, tuple[str, tuple, tuple[int, ...]]] = {}

    def compiled(self) -> tuple[str, tuple, tuple[int, ...]]:
        # Per database alias and vendor: the SQL of PostgreSQL is not SQLite's.
        key = f"{connection.alias}:{connection.vendor}"
        found = self._compiled.get(key)
        if found is None:
            stand_in = get_user_model()(pk=STAND_IN_ID, is_active=True)
            sql, params = self.build(stand_in).query.sql_with_params()
            positions = tuple(i for i, value in enumerate(params) if value == STAND_IN_ID)
            found = self._compiled[key] = (sql, tuple(params), positions)
        return found

    def rows(self, user) -> list[tuple]:
        if not user.is_authenticated or not user.is_active:
            # The selectors answer nothing for them, with another shape: no stand-in.
            return list(self.build(user))
        sql, template, positions = self.compiled()
        params = list(template)
        for position in positions:
            params[position] = user.pk
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
