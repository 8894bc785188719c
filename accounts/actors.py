"""A user's standing, read from their memberships in one query: roles, organisations, the
operators they speak for and the territories their EPCI or their Region give them.

Every permission predicate asks it. Within a web request (``actors_read_once``, set by
``accounts.middleware``) a user's standing is read once for the whole page, however many
questions the page asks; outside one (services called by a command, a test, the worker) it is
read again at each question, so that a membership just given or taken counts at once.
"""

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.contrib.auth.models import AnonymousUser

from accounts.models import Membership, Role, User

_read_once: contextvars.ContextVar[dict[int, "Actor"] | None] = contextvars.ContextVar(
    "actors_read_once", default=None
)


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    roles: frozenset[str] = frozenset()
    organisations: frozenset[int] = frozenset()
    # Operator codes (funder codes) of the user's operator memberships.
    operators: frozenset[str] = frozenset()
    # Territories containing an EPCI the user is an agent of, and those piloted by a Region
    # the user reviews for.
    epci_territories: frozenset[int] = frozenset()
    piloted_territories: frozenset[int] = frozenset()
    # Answers that need a query of their own (cases.kernel.permissions), kept for the request.
    memo: dict[object, bool] = field(default_factory=dict, compare=False, repr=False)

    def holds(self, role: str) -> bool:
        return role in self.roles


NOBODY = Actor(user_id=None)

# Whom a permission predicate answers for: a user, signed in or not, or their standing read
# once (``actor_of``) for the several questions of a page.
type AnyUser = User | AnonymousUser | Actor


def actor_of(user: object) -> Actor:
    """``user``'s standing (an Actor is its own); nobody's for an anonymous or inactive one."""
    if isinstance(user, Actor):
        return user
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return NOBODY
    pk: int = user.pk  # type: ignore[attr-defined]
    cache = _read_once.get()
    if cache is None:
        return _read(pk)
    if pk not in cache:
        cache[pk] = _read(pk)
    return cache[pk]


def _read(user_id: int) -> Actor:
    # Two joins, one per kind of organisation that gives territories: a membership has one
    # kind, so the rows do not multiply beyond the territories themselves.
    rows = Membership.objects.filter(user_id=user_id).values_list(
        "role",
        "organisation_id",
        "organisation__operator",
        "organisation__intercommunality__territory_links__territory_id",
        "organisation__region__piloted_territories__id",
    )
    roles, organisations, operators, epci, piloted = set(), set(), set(), set(), set()
    for role, organisation, operator, linked, pilots in rows:
        roles.add(role)
        organisations.add(organisation)
        if role == Role.OPERATOR_AGENT and operator:
            operators.add(operator)
        if role == Role.EPCI_AGENT and linked is not None:
            epci.add(linked)
        if role == Role.REGION_REVIEWER and pilots is not None:
            piloted.add(pilots)
    return Actor(
        user_id=user_id,
        roles=frozenset(roles),
        organisations=frozenset(organisations),
        operators=frozenset(operators),
        epci_territories=frozenset(epci),
        piloted_territories=frozenset(piloted),
    )


@contextlib.contextmanager
def actors_read_once() -> Iterator[None]:
    token = _read_once.set({})
    try:
        yield
    finally:
        _read_once.reset(token)
