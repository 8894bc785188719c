"""The tasks a user may see: each one waits on a role, in a scope (DESIGN §4).

- drafting tasks: the EPCI agents of the case's territory;
- regional review: the reviewers of the Region that pilots the case's territory;
- ministerial tasks: the ministry agents, on every territory;
- opinion tasks: the members of the organisation consulted.
"""

from django.contrib.auth.models import AnonymousUser
from django.db.models import F, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from viewflow.workflow.models import Task

from accounts.actors import AnyUser, actor_of
from accounts.models import Role, User
from cases.models import Opinion
from workflows.engine import OPEN_STATUSES
from workflows.flows import FLOWS_BY_KIND, Actor, CaseTask

CASE = "process__caseprocess__case"


def nodes_waiting_on(actor: str) -> list[CaseTask]:
    return [
        node
        for flow_class in FLOWS_BY_KIND.values()
        for node in flow_class.instance.nodes()
        if isinstance(node, CaseTask) and node.actor == actor
    ]


def _scope(user: AnyUser) -> Q:
    standing = actor_of(user)
    scope = Q(
        flow_task__in=nodes_waiting_on(Actor.CONSULTED),
        data__organisation__in=sorted(standing.organisations),
    )
    if standing.holds(Role.EPCI_AGENT):
        scope |= Q(
            flow_task__in=nodes_waiting_on(Actor.EPCI),
            **{f"{CASE}__territory__in": sorted(standing.epci_territories)},
        )
    if standing.holds(Role.REGION_REVIEWER):
        scope |= Q(
            flow_task__in=nodes_waiting_on(Actor.REGION),
            **{f"{CASE}__territory__in": sorted(standing.piloted_territories)},
        )
    if standing.holds(Role.MINISTRY_AGENT):
        scope |= Q(flow_task__in=nodes_waiting_on(Actor.MINISTRY))
    return scope


def tasks_for_user(user: User | AnonymousUser) -> QuerySet[Task]:
    """Every human task of a case, open or done, that waits or waited on this user's role."""
    if not user.is_authenticated or not user.is_active:
        return Task.objects.none()
    return (
        Task.objects.filter(_scope(user), flow_task_type="HUMAN")
        .filter(**{f"{CASE}__isnull": False})
        .select_related(f"{CASE}__territory__pilot_region", "owner")
    )


def open_tasks_for_user(user: User | AnonymousUser) -> QuerySet[Task]:
    return tasks_for_user(user).filter(status__in=OPEN_STATUSES).order_by("created", "pk")


def with_due_date(tasks: QuerySet[Task]) -> QuerySet[Task]:
    """Each task's ``due``: the date its opinion is due by for an opinion task, else the date
    the case's current stage must be answered by (none while the case is a draft)."""
    opinion = Opinion.objects.filter(
        pk=Cast(KeyTextTransform("opinion", OuterRef("data")), IntegerField())
    ).values("due_on")[:1]
    return tasks.annotate(due=Coalesce(Subquery(opinion), F(f"{CASE}__due_on")))
