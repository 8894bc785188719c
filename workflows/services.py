"""Taking and releasing a task: who is on it. Deciding a case goes through cases.services."""

from django.db import transaction
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from cases.services import ActionForbidden, ActionNotPossible


def _locked(task: Task) -> Task:
    return Task.objects.select_for_update(of=("self",)).select_related("owner").get(pk=task.pk)


def task_assign(*, task: Task, actor) -> Task:
    """``actor`` takes the task from the queue; they must already see it in their scope."""
    with transaction.atomic():
        locked = _locked(task)
        if locked.status == STATUS.ASSIGNED and locked.owner_id == actor.pk:
            return locked
        if locked.status == STATUS.ASSIGNED:
            raise ActionNotPossible(f"Cette tâche est déjà prise en charge par {locked.owner}.")
        if locked.status != STATUS.NEW:
            raise ActionNotPossible("Cette tâche est déjà traitée.")
        locked.owner = actor
        locked.assigned = timezone.now()
        locked.status = STATUS.ASSIGNED
        locked.save(update_fields=["owner", "assigned", "status"])
    return locked


def task_release(*, task: Task, actor) -> Task:
    """Puts a task back in the queue; only the person who took it may."""
    with transaction.atomic():
        locked = _locked(task)
        if locked.status != STATUS.ASSIGNED:
            raise ActionNotPossible("Cette tâche n'est prise en charge par personne.")
        if locked.owner_id != actor.pk:
            raise ActionForbidden(
                f"Seule la personne qui a pris la tâche ({locked.owner}) peut la remettre en file."
            )
        locked.owner = None
        locked.assigned = None
        locked.status = STATUS.NEW
        locked.save(update_fields=["owner", "assigned", "status"])
    return locked
