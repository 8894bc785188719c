"""Taking and releasing a task: who is on it. Deciding a case goes through cases.services."""

from django.db import transaction
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from accounts.models import User
from cases.kernel.services import ActionForbidden, ActionNotPossible, case_record_task_takeover
from cases.models import Case
from workflows.engine import OPEN_STATUSES, acts_for


def _locked(task: Task) -> Task:
    return Task.objects.select_for_update(of=("self",)).select_related("owner").get(pk=task.pk)


def task_assign(*, task: Task, actor: User) -> Task:
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


def task_release(*, task: Task, actor: User) -> Task:
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


def task_take_over(*, task: Task, actor: User) -> Task:
    """``actor`` takes over a task someone else has taken; the case's history says so."""
    case_id = Task.objects.values_list("process__caseprocess__case_id", flat=True).get(pk=task.pk)
    with transaction.atomic():
        # The case first, then the task: the order of a transition, so that neither waits
        # on the other forever.
        case = Case.objects.select_for_update().get(pk=case_id)
        locked = _locked(task)
        if locked.status not in OPEN_STATUSES:
            raise ActionNotPossible("Cette tâche est déjà traitée : rien n'a été modifié.")
        if locked.status != STATUS.ASSIGNED or locked.owner_id is None:
            raise ActionNotPossible(
                "Cette tâche n'est prise en charge par personne : prenez-la en charge."
            )
        if locked.owner_id == actor.pk:
            return locked
        if not acts_for(locked, case, actor):
            raise ActionForbidden("Vous ne pouvez pas reprendre cette tâche.")
        previous = locked.owner
        locked.owner = actor
        locked.assigned = timezone.now()
        locked.save(update_fields=["owner", "assigned"])
        case_record_task_takeover(
            case=case, actor=actor, previous_owner=previous, task_title=locked.flow_task.task_title
        )
    return locked
