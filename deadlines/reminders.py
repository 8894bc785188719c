"""Reminders before a due date, and escalation after it, sent by a pass of the worker.

Each open case's clock says the first day it has something to send (``next_reminder_on``,
indexed): a pass reads only those due, so its cost follows the number due, not the number
open. For each, inside one transaction:

- the case's row is locked first, as a transition locks it (a case being moved is skipped
  and left for the next pass, never waited on: no deadlock, no double send);
- each step due and not yet recorded (J-15, J-5, J-1, then late) gets its ``Reminder`` row,
  whose unique key makes a second worker or a restarted one find it there;
- the step is an audit event of the case, and the notifications and e-mails tell whoever
  must act: the reviewer who took the task, else the reviewing organisation's members;
  when late, the Region's lead reviewers (« référents »), then the ministry.

A pass after a stop catches up: every step whose day has passed is sent, once.
The pass plans the next one (``PASS_MINUTES`` later) when it ends.
"""

import logging
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Q
from django.tasks import TaskResultStatus, task
from django.utils import timezone

from accounts.models import Role, User
from accounts.scoping import members, region_reviewers_of
from cases.kernel import french
from cases.kernel.services import record_event
from cases.models import STATE_LABELS, Case, CaseEvent, Opinion, State
from deadlines.calendar import FrenchCalendar
from deadlines.clocks import LATE, LATER, reminder_steps, rule_for, schedule
from deadlines.models import Clock, DeadlineRule, Reminder
from deadlines.presentation import days_left, long_date

logger = logging.getLogger(__name__)
PASS_MINUTES = 15
BATCH = 200


def _assignee(case_id: int, role: str) -> list[int]:
    """The reviewer of ``role`` who took the case's open task, if someone did (an opinion's
    side task, taken by the consulted organisation, is not the stage's)."""
    from viewflow.workflow.models import Task

    from workflows.engine import OPEN_STATUSES

    owners = Task.objects.filter(
        process__caseprocess__case_id=case_id,
        status__in=OPEN_STATUSES,
        owner__memberships__role=role,
    ).values_list("owner_id", flat=True)
    return list(owners)


def recipients(case: Case, stage: str, step: str) -> list[int]:
    region = region_reviewers_of(case.territory_id)
    ministry = members(role=Role.MINISTRY_AGENT)
    if step == LATER:
        audience = ministry
    elif step == LATE and stage == State.REGIONAL_REVIEW:
        leads = User.objects.filter(
            region_reviewers_of(case.territory_id, lead=True),
            is_active=True,
        ).values_list("pk", flat=True)
        # A Region that named no lead reviewer: all its reviewers are told.
        audience = Q(pk__in=list(leads)) if leads else region
    elif step == LATE:
        audience = ministry
    else:
        role = Role.REGION_REVIEWER if stage == State.REGIONAL_REVIEW else Role.MINISTRY_AGENT
        owners = _assignee(case.pk, role)
        if owners:
            return sorted(set(owners))
        audience = region if stage == State.REGIONAL_REVIEW else ministry
    users = User.objects.filter(audience, is_active=True).values_list("pk", flat=True)
    return sorted(set(users))


def _detail(clock: Clock, today: date) -> str:
    """« instruction régionale : réponse attendue le mercredi 17 juin 2026, dans 5 jours »."""
    assert clock.due_on is not None
    stage = str(STATE_LABELS.get(clock.stage, clock.stage)).lower()
    due, left = long_date(clock.due_on), days_left(clock.due_on, today)
    return f"{stage}{french.NBSP}: réponse attendue le {due}, {left}"


def remind(case_id: int, today: date) -> int:
    """Send what is due for one case; the number of steps sent. The caller's transaction."""
    locked = Case.objects.select_for_update(skip_locked=True).filter(pk=case_id).first()
    if locked is None:
        return 0  # being moved right now: the next pass sees its new clock
    clock = Clock.objects.select_related("rule", "case__territory").filter(case_id=case_id).first()
    if clock is None or clock.due_on is None or clock.stage_entry is None:
        return 0
    calendar = FrenchCalendar.for_territory(clock.case.territory)
    steps = schedule(clock.rule, calendar, clock.due_on)
    if clock.stage != State.REGIONAL_REVIEW:
        steps.pop(LATER)  # the ministry is the last level
    sent = sent_steps(case_id, clock.stage, clock.stage_entry)
    detail = _detail(clock, today)
    due = _due(steps, sent, today)
    for step in due:
        users = recipients(locked, clock.stage, step)
        payload = {"stage": clock.stage, "due_on": clock.due_on.isoformat()}
        _record(locked, clock.stage, clock.stage_entry, step, clock.due_on, users, detail, payload)
        sent.add(step)
    pending = [day for step, day in steps.items() if step not in sent]
    Clock.objects.filter(case_id=case_id).update(next_reminder_on=min(pending) if pending else None)
    return len(due)


def sent_steps(case_id: int, stage: str, entry: int) -> set[str]:
    """The steps already recorded for one stage entry (or one opinion)."""
    return set(
        Reminder.objects.filter(case_id=case_id, stage=stage, stage_entry=entry).values_list(
            "step", flat=True
        )
    )


def _due(steps: dict[str, date], sent: set[str], today: date) -> list[str]:
    """The steps whose day has come and that were not sent, in the order of their days."""
    return [
        step
        for step, day in sorted(steps.items(), key=lambda item: item[1])
        if step not in sent and day <= today
    ]


def _record(
    locked: Case,
    stage: str,
    entry: int,
    step: str,
    due_on: date,
    users: list[int],
    detail: str,
    payload: dict,
) -> None:
    """One step, once: its Reminder row (unique), its audit event, its notifications."""
    Reminder.objects.create(
        case_id=locked.pk,
        stage=stage,
        stage_entry=entry,
        step=step,
        due_on=due_on,
        sent_at=timezone.now(),
    )
    record_event(
        locked,
        None,
        fields=[],
        kind=CaseEvent.Kind.EDIT,
        name="escalation" if step in (LATE, LATER) else "reminder",
        private=True,
        payload={"step": step, **payload, "recipients": users},
        extra={"recipients": users, "detail": detail},
    )


# Opinions asked of an operator or another ministry: the consulted organisation is reminded
# before the date the ministry set, and the agent who asked is told when it has passed.
OPINION = "opinion"


def remind_opinion(opinion_id: int, today: date) -> int:
    opinion = Opinion.objects.filter(pk=opinion_id).values_list("case_id", flat=True).first()
    if opinion is None:
        return 0
    locked = Case.objects.select_for_update(skip_locked=True).filter(pk=opinion).first()
    if locked is None:
        return 0
    current = Opinion.objects.select_related("organisation").get(pk=opinion_id)
    if current.answered_at is not None or locked.state != State.MINISTERIAL_REVIEW:
        return 0
    rule = rule_for(locked)
    steps = reminder_steps(rule.offsets if rule else [], current.due_on)
    left = days_left(current.due_on, today)
    detail = f"avis de {current.organisation} attendu le {long_date(current.due_on)}, {left}"
    due = _due(steps, sent_steps(locked.pk, OPINION, current.pk), today)
    for step in due:
        users = (
            [current.requested_by_id]
            if step == LATE
            else sorted(
                User.objects.filter(
                    members(organisation_id=current.organisation_id), is_active=True
                ).values_list("pk", flat=True)
            )
        )
        payload = {"opinion": current.pk}
        _record(locked, OPINION, current.pk, step, current.due_on, users, detail, payload)
    return len(due)


def _open_opinions(today: date, horizon: int) -> list[int]:
    """The unanswered opinions whose first reminder day has come (the cost follows them)."""
    return list(
        Opinion.objects.filter(
            answered_at__isnull=True,
            case__state=State.MINISTERIAL_REVIEW,
            due_on__lte=today + timedelta(days=horizon),
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def run_pass(today: date | None = None, batch: int = BATCH) -> int:
    """One pass over the cases and the opinions with something due; the steps sent."""
    today = today or timezone.localdate()
    done = _cases_pass(today, batch)
    horizon = max((max(rule.offsets, default=0) for rule in DeadlineRule.objects.all()), default=0)
    return done + _each(_open_opinions(today, horizon), remind_opinion, today)


def _each(ids: list[int], handle, today: date) -> int:
    """``handle`` each id in its own transaction; one failure must not hold the others back
    (it is tried again at the next pass)."""
    done = 0
    for pk in ids:
        try:
            with transaction.atomic():
                done += handle(pk, today)
        except Exception:
            logger.exception("Rappel non envoyé (%s %s)", handle.__name__, pk)
    return done


def _cases_pass(today: date, batch: int) -> int:
    done, last = 0, 0
    while True:
        # By case id from the last one seen: the cases handled leave the set as they go.
        due = list(
            Clock.objects.filter(next_reminder_on__lte=today, case_id__gt=last)
            .order_by("case_id")
            .values_list("case_id", flat=True)[:batch]
        )
        done += _each(due, remind, today)
        if len(due) < batch:
            return done
        last = due[-1]


@task()
def deadline_pass() -> str:
    try:
        return f"{run_pass()} rappel(s)"
    finally:
        schedule_next_pass()


def schedule_next_pass() -> None:
    deadline_pass.using(run_after=timezone.now() + timedelta(minutes=PASS_MINUTES)).enqueue()


def ensure_planned() -> None:
    """At the worker's start: a pass planned, unless one is already waiting."""
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.filter(
        task_path=deadline_pass.module_path, status=TaskResultStatus.READY
    )
    if not waiting.exists():
        deadline_pass.enqueue()
