"""Queries scoped to a user: every lookup from a request goes through here. The kernel's own
(any case, its comments, events and documents); each case kind keeps its own selectors.
"""

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    BooleanField,
    F,
    Func,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.fields.json import KT
from django.db.models.sql.compiler import SQLCompiler

from accounts.actors import AnyUser, actor_of
from accounts.models import Membership, Role, User
from accounts.scoping import (
    NATIONAL_ROLES,
    territories_for_user,
)
from cases.kernel import permissions as perms
from cases.kernel.models import Case, CaseEvent, Comment, Document, Opinion


def operator_codes(user: User) -> QuerySet:
    """The funder codes of the operators the user is an agent of."""
    return (
        Membership.objects.filter(user=user, role=Role.OPERATOR_AGENT)
        .exclude(organisation__operator="")
        .values("organisation__operator")
    )


# The other reasons a case kind opens its cases to a user, as the ids of those cases: the
# contracts asking the user's operator for money (cases.contracts.selectors). Each kind adds
# its own when imported, which the app does when ready (cases.apps): the kernel names no kind.
VISIBLE_CASE_IDS: list[Callable[..., QuerySet]] = []


def visible_cases(user: User) -> Q:
    """A case's territory is in the user's scope, the user's organisation was consulted on
    it, or a case kind opens it to the user (a contract asking the user's operator for money)."""
    consulted = Opinion.objects.filter(organisation__memberships__user=user).values("case_id")
    visible = Q(territory__in=territories_for_user(user)) | Q(pk__in=consulted)
    for case_ids in VISIBLE_CASE_IDS:
        visible |= Q(pk__in=case_ids(user))
    return visible


def cases_for_user(user: User | AnonymousUser) -> QuerySet[Case]:
    if not user.is_authenticated or not user.is_active:
        return Case.objects.none()
    return Case.objects.filter(visible_cases(user))


def opinions_for_user(user: User, case: Case) -> QuerySet[Opinion]:
    """Every opinion for the reviewing institutions; their own for the consulted."""
    opinions = case.opinions.select_related("organisation", "answered_by", "requested_by")
    if perms.is_reviewing_institution(user, case):
        return opinions
    return opinions.filter(organisation__memberships__user=user)


class AmongIds(Func):
    """``column = ANY(ARRAY(subquery))`` on PostgreSQL: the subquery runs once, before the
    rows are read, and the column's index reads only the rows it names; ``column IN
    (subquery)`` elsewhere (SQLite)."""

    output_field = BooleanField()

    def __init__(self, column: str, ids: QuerySet) -> None:
        super().__init__(F(column), Subquery(ids.order_by()))

    def parts(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, str, tuple]:
        column, column_params = compiler.compile(self.source_expressions[0])
        ids, ids_params = compiler.compile(self.source_expressions[1])
        return column, ids, (*column_params, *ids_params)

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra: Any,
    ) -> tuple[str, tuple]:
        column, ids, params = self.parts(compiler, connection)
        return f"{column} IN {ids}", params

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, tuple]:
        column, ids, params = self.parts(compiler, connection)
        return f"{column} = ANY(ARRAY{ids})", params


def comments_for_user(user: User | AnonymousUser, case: Case) -> QuerySet[Comment]:
    comments = case.comments.select_related("author")
    if perms.is_reviewing_institution(user, case):
        return comments
    return comments.filter(private=False)


# The payload key by which an event names another case: an avenant's opening, on its contract.
NAMED_CASE = "amendment"


def events_for_user(user: User | AnonymousUser, case: Case) -> QuerySet[CaseEvent]:
    """Internal notes go to the reviewing institutions; an event naming another case, to those
    who may read that case too (a draft avenant's opening would tell a funder of a draft that
    is still the EPCI's own work)."""
    events = case.events.select_related("actor").order_by("seq")
    if perms.is_reviewing_institution(user, case):
        return events
    named = KT(f"payload__{NAMED_CASE}")
    readable = cases_for_user(user).values("reference")
    return (
        events.filter(private=False)
        .alias(named=named)
        .exclude(Q(named__isnull=False) & ~Q(named__in=Subquery(readable)))
    )


def event_readable(user: User, case: Case, event: CaseEvent) -> bool:
    """Whether ``user``, who reads ``case``, may read ``event`` on it (the rule above)."""
    if not event.private and NAMED_CASE not in (event.payload or {}):
        return True
    return events_for_user(user, case).filter(pk=event.pk).exists()


def documents_for_user(user: User, case: Case) -> QuerySet[Document]:
    """Private documents (attached to an opinion) go to the reviewing institutions and to
    the organisation that wrote the opinion; the others, to every party."""
    documents = case.documents.select_related("uploaded_by")
    if perms.is_reviewing_institution(user, case):
        return documents
    own = Opinion.objects.filter(organisation__memberships__user=user).values("document_id")
    return documents.filter(Q(private=False) | Q(pk__in=own))


def document_for_user(user: User, pk: int) -> QuerySet[Document]:
    case = cases_for_user(user).filter(documents__pk=pk).first()
    if case is None:
        return Document.objects.none()
    return documents_for_user(user, case).filter(pk=pk)


def is_national(user: AnyUser) -> bool:
    return not actor_of(user).roles.isdisjoint(NATIONAL_ROLES)
