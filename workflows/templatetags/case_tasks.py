"""The case page shows who holds its open task; cases cannot ask workflows, so the page's
template does, through this tag."""

from django import template

from workflows import selectors
from workflows.engine import held_by_another
from workflows.flows import stage_nodes

register = template.Library()


@register.simple_tag
def open_stage_task(case, user):
    """The case's open stage task, if the user is among those it waits on; with
    ``can_take_over`` set when someone else holds it and the user may take it over."""
    task = (
        selectors.open_tasks_for_user(user)
        .filter(process__caseprocess__case_id=case.pk, flow_task__in=stage_nodes())
        .order_by("-pk")
        .first()
    )
    if task is not None:
        task.can_take_over = held_by_another(task, case, user)
    return task
