"""Keeps each case's process in step with the case, from inside the service's transaction.

``cases.services`` announces every change; on a creation this starts the case's process, on
a transition it closes the open human task in the actor's name and routes to the task of the
new state. Whatever fails here rolls back the transition with it: a case and its process
never disagree.
"""

from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from cases.kernel import permissions as perms
from cases.kernel.hooks import CaseAnnouncement
from cases.kernel.services import ActionNotPossible
from cases.models import Case, CaseEvent
from workflows.flows import FLOWS_BY_KIND, Actor, stage_nodes
from workflows.models import CaseProcess

OPEN_STATUSES = (STATUS.NEW, STATUS.ASSIGNED)


def on_case_event(announcement: CaseAnnouncement) -> None:
    event = announcement.event
    if event.kind == CaseEvent.Kind.CREATION:
        start_process(announcement.case)
    elif event.kind == CaseEvent.Kind.TRANSITION:
        advance_process(announcement.case, announcement.actor, event.name)
    elif event.name in RESERVED_OPINIONS:
        # Part of the stage's work: for whoever holds its task, like the decision itself.
        require_stage_not_reserved(announcement.case, announcement.actor)
        if event.name == "opinion_request":
            open_opinion_task(announcement.case, announcement.extra)
    elif event.name == "opinion_answer":
        close_opinion_task(announcement.case, announcement.extra["opinion"], announcement.actor)


def start_process(case: Case) -> CaseProcess:
    flow_class = FLOWS_BY_KIND[case.kind]
    return flow_class.start.run(case=case)


def open_task_locked(case: Case):
    """The human task waiting on someone, with its process, both rows locked in one statement.

    The service already holds the case's lock; taking the process row too keeps viewflow's
    own paths (cancel, admin) from interleaving, and costs nothing more than the fetch.
    """
    task = (
        Task.objects.select_for_update(of=("self", "process"))
        .select_related("process__caseprocess")
        .filter(
            process__caseprocess__case_id=case.pk,
            flow_task__in=stage_nodes(),
            status__in=OPEN_STATUSES,
        )
        .order_by("-pk")
        .first()
    )
    if task is not None:
        # The gateway must read the state the service just set, not a copy loaded earlier.
        process = task.process.caseprocess
        process.case = case
        task.process = process
    return task


# The wave's validation contractualises every contract in one go, whoever holds their tasks.
UNRESERVED = {"contractualise"}


def advance_process(case: Case, actor, name: str = "") -> None:
    task = open_task_locked(case)
    if task is None:
        if not CaseProcess.objects.filter(case_id=case.pk).exists():
            # A case created before its kind had a flow: its process starts at its state now.
            start_process(case)
        return
    if name not in UNRESERVED:
        require_not_reserved(task, case, actor)
    if FLOWS_BY_KIND[case.kind].has_side_tasks and case.state != "ministerial_review":
        # Opinions are asked during the ministerial review; once the case leaves it (sent
        # back, decided, withdrawn), those still awaited are moot.
        _cancel_side_tasks(case)
    _complete(task, actor)


RESERVED_OPINIONS = {"region_opinion", "opinion_request"}


def require_stage_not_reserved(case: Case, actor) -> None:
    task = open_task_locked(case)
    if task is not None:
        require_not_reserved(task, case, actor)


def acts_for(task, case: Case, actor) -> bool:
    """Whether ``actor`` decides as the reviewer this task waits on (and not, say, as the
    EPCI withdrawing its case while the Region reviews it)."""
    waits_on = getattr(task.flow_task, "actor", None)
    if waits_on == Actor.REGION:
        return perms.is_region_reviewer_for(actor, case)
    if waits_on == Actor.MINISTRY:
        return perms.is_ministry_agent(actor)
    return False


def held_by_another(task, case: Case, user) -> bool:
    """Whether someone else took the task that ``user`` would act on as its reviewer: then
    ``user`` must take it over before acting."""
    return (
        task.status == STATUS.ASSIGNED
        and task.owner_id not in (None, user.pk)
        and acts_for(task, case, user)
    )


def require_not_reserved(task, case: Case, actor) -> None:
    """A task someone took is theirs: another reviewer takes it over first. Raised from the
    service's transaction, the refusal rolls the transition back."""
    if held_by_another(task, case, actor):
        raise ActionNotPossible(
            f"Cette tâche est prise en charge par {task.owner}. Reprenez-la pour décider. "
            "Rien n'a été modifié."
        )


def _cancel_side_tasks(case: Case) -> None:
    side_tasks = (
        Task.objects.select_for_update(of=("self",))
        .filter(process__caseprocess__case_id=case.pk, status__in=OPEN_STATUSES)
        .exclude(flow_task__in=stage_nodes())
    )
    for task in side_tasks:
        task.flow_task.activation_class(task).cancel()


def _complete(task, actor) -> None:
    task.owner = actor
    task.assigned = task.assigned or timezone.now()
    task.status = STATUS.ASSIGNED
    activation = task.flow_task.activation_class(task)
    activation.start(None)
    activation.execute()


def open_opinion_task(case: Case, extra: dict) -> None:
    """A task for the consulted organisation, beside the ministerial review."""
    stage = open_task_locked(case)
    if stage is None:
        # A case whose process is missing gets one now, at its state, so that the opinion
        # task exists beside its stage.
        start_process(case)
        stage = open_task_locked(case)
    if stage is None:
        raise RuntimeError(f"Aucune étape ouverte pour {case}")
    flow_class = FLOWS_BY_KIND[case.kind]
    previous = stage.flow_task.activation_class(stage)
    flow_class.opinion._create(
        previous,
        stage.token,
        data={"opinion": extra["opinion"], "organisation": extra["organisation"]},
    )


def close_opinion_task(case: Case, opinion_id: int, actor) -> None:
    task = (
        Task.objects.select_for_update(of=("self",))
        .filter(
            process__caseprocess__case_id=case.pk,
            data__opinion=opinion_id,
            status__in=OPEN_STATUSES,
        )
        .first()
    )
    if task is not None:
        _complete(task, actor)
