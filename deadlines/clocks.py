"""A case's clock: when its answer is due, read from its transitions and its rule.

The clock starts at receipt (the first submission). A request for changes pauses it; the
next submission resumes it (the paused days are added to the period) or restarts it whole,
as the rule says. While the case is in a review stage, that stage has its own internal
target, in working days from the day it entered the stage. A withdrawn, rejected or decided
case (or one signed off and waiting for its wave) has no clock.

``compute`` is a pure function of the rule, the territory's calendar and the transitions;
``refresh`` keeps the case's ``Clock`` row in step, inside the transition's transaction
(``on_case_event``, registered on cases' hook).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import F, Q
from django.utils import timezone

from cases.models import Case, CaseEvent, State
from deadlines.calendar import FrenchCalendar, add_days, add_months
from deadlines.models import Clock, DeadlineRule, OnChanges, Unit

REVIEW_STAGES = (State.REGIONAL_REVIEW.value, State.MINISTERIAL_REVIEW.value)
# The states a clock may run in (a draft's is paused); any other ends it.
CLOCKED_STATES = (*REVIEW_STAGES, State.DRAFT.value)
SUBMIT, REQUEST_CHANGES = "submit", "request_changes"
# Late: the Region's leads are told the day after the due date, the ministry this many
# working days later.
ESCALATION_WORKING_DAYS = 5
LATE, LATER = "retard-1", "retard-2"


@dataclass(frozen=True)
class Step:
    """A transition as the clock reads it: its name, the state it led to, its local day,
    and its number in the case's audit chain."""

    name: str
    to_state: str
    day: date
    seq: int = 0


@dataclass
class ClockState:
    received_on: date
    pauses: list[list[date | None]] = field(default_factory=list)
    # The last day of the legal period, as counted (None while paused).
    legal_end_on: date | None = None
    stage: str = ""
    stage_started_on: date | None = None
    stage_entry: int | None = None
    stage_due_on: date | None = None
    calendar: FrenchCalendar = field(default_factory=FrenchCalendar)
    rule: DeadlineRule | None = None

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1][1] is None

    @property
    def legal_due_on(self) -> date | None:
        """The legal date moved to the next working day when it falls on a day off."""
        return self.calendar.next_working_day(self.legal_end_on) if self.legal_end_on else None

    @property
    def due_on(self) -> date | None:
        dates = [d for d in (self.stage_due_on, self.legal_due_on) if d is not None]
        return min(dates) if dates else None


def _paused_amount(rule: DeadlineRule, calendar: FrenchCalendar, pauses) -> int:
    """The days the finished pauses add to the period, counted in the period's own days."""
    total = 0
    for start, end in pauses:
        if end is None:
            continue
        if rule.unit == Unit.WORKING_DAYS:
            total += calendar.working_days_between(start, end)
        else:
            total += (end - start).days
    return total


def period_end(rule: DeadlineRule, calendar: FrenchCalendar, start: date, extra: int) -> date:
    if rule.unit == Unit.MONTHS:
        return add_days(add_months(start, rule.period), extra)
    if rule.unit == Unit.CALENDAR_DAYS:
        return add_days(start, rule.period + extra)
    return calendar.add_working_days(start, rule.period + extra)


def compute(rule: DeadlineRule, calendar: FrenchCalendar, steps: list[Step]) -> ClockState | None:
    """The clock after ``steps`` (the case's transitions, in order), or None when the case
    has none: never submitted, or out of review for good."""
    submissions = [s for s in steps if s.name == SUBMIT]
    if not submissions:
        return None
    current = steps[-1]
    if current.to_state not in CLOCKED_STATES:
        return None
    state = ClockState(received_on=submissions[0].day, calendar=calendar, rule=rule)
    legal_start = state.received_on
    for step in steps:
        if step.name == REQUEST_CHANGES:
            state.pauses.append([step.day, None])
        elif step.name == SUBMIT and state.paused:
            state.pauses[-1][1] = step.day
            if rule.on_changes == OnChanges.RESTART:
                legal_start = step.day
    if current.to_state == State.DRAFT:
        return state  # paused: nothing is due until the next submission
    extra = (
        0 if rule.on_changes == OnChanges.RESTART else _paused_amount(rule, calendar, state.pauses)
    )
    state.legal_end_on = period_end(rule, calendar, legal_start, extra)
    state.stage, state.stage_started_on = current.to_state, current.day
    state.stage_entry = current.seq
    days = rule.stage_days(current.to_state)
    if days is not None:
        state.stage_due_on = calendar.add_working_days(current.day, days)
    return state


def reminder_steps(offsets: list[int], due_on: date) -> dict[str, date]:
    """The reminders before ``due_on`` and the first escalation, with the day each is due."""
    steps = {f"J-{offset}": due_on - timedelta(days=offset) for offset in offsets}
    steps[LATE] = due_on + timedelta(days=1)
    return steps


def schedule(rule: DeadlineRule, calendar: FrenchCalendar, due_on: date) -> dict[str, date]:
    """Each step of reminders and escalation of a stage, with the day it is due."""
    steps = reminder_steps(rule.offsets, due_on)
    steps[LATER] = calendar.add_working_days(due_on, ESCALATION_WORKING_DAYS)
    return steps


def next_reminder(
    rule: DeadlineRule, calendar: FrenchCalendar, due_on: date | None, sent: set[str]
) -> date | None:
    if due_on is None:
        return None
    pending = [day for step, day in schedule(rule, calendar, due_on).items() if step not in sent]
    return min(pending) if pending else None


# The database side.


def rule_for(case: Case) -> DeadlineRule | None:
    """The rule of the case's call when it has one, else that of its kind: one query."""
    # A derogation request's call may have a rule of its own.
    call_id = getattr(case, "call_id", None)
    return (
        DeadlineRule.objects.filter(kind=case.kind)
        .filter(Q(call__isnull=True) | Q(call_id=call_id))
        .order_by(F("call_id").asc(nulls_last=True))
        .first()
    )


def steps_of(case: Case) -> tuple[list[Step], list[str]]:
    """The case's transitions and its territory's départements, in one query."""
    rows = list(
        CaseEvent.objects.filter(case_id=case.pk, kind=CaseEvent.Kind.TRANSITION)
        .order_by("seq")
        .values_list("name", "to_state", "created_at", "seq", "case__territory__departements")
    )
    steps = [Step(name, to, timezone.localdate(at), seq) for name, to, at, seq, _ in rows]
    departements = rows[0][4].split(";") if rows else []
    return steps, [code for code in departements if code]


def store(case_id: int, rule: DeadlineRule, state: ClockState, sent: set[str]) -> None:
    """Write the case's Clock row in one statement."""
    values = {
        "rule": rule,
        "received_on": state.received_on,
        "pauses": [[d.isoformat() if d else None for d in pause] for pause in state.pauses],
        "legal_end_on": state.legal_end_on,
        "legal_due_on": state.legal_due_on,
        "stage": state.stage,
        "stage_started_on": state.stage_started_on,
        "stage_entry": state.stage_entry,
        "stage_due_on": state.stage_due_on,
        "due_on": state.due_on,
        "next_reminder_on": next_reminder(rule, state.calendar, state.due_on, sent),
    }
    Clock.objects.bulk_create(
        [Clock(case_id=case_id, **values)],
        update_conflicts=True,
        unique_fields=["case"],
        update_fields=[name if name != "rule" else "rule_id" for name in values],
    )


def refresh(
    case: Case, sent: set[str] | None = None, *, write_due_date: bool = True
) -> ClockState | None:
    """Bring the case's Clock row in step with its transitions; return its state. Three
    statements: the rule, the transitions with the territory, the row's upsert (or its
    removal); a fourth for the case's due date when it changes, unless ``write_due_date``
    is false: then it is only set on ``case``, whose caller saves it. ``sent``: the reminders
    already sent for the current stage entry (none right after a transition, which always
    enters a new one). A case that has left review (signed off, decided, closed) has no clock,
    whatever its rule and history: one statement, the removal, with nothing read."""
    rule = rule_for(case) if case.state in CLOCKED_STATES else None
    state = None
    if rule is not None:
        steps, departements = steps_of(case)
        state = compute(rule, FrenchCalendar.for_departements(departements), steps)
    if state is None or rule is None:
        Clock.objects.filter(case_id=case.pk).delete()
        mirror_due_date(case, None, write=write_due_date)
        return None
    store(case.pk, rule, state, sent or set())
    mirror_due_date(case, state.due_on, write=write_due_date)
    return state


def mirror_due_date(case: Case, due_on: date | None, *, write: bool = True) -> None:
    """The lists sort and filter on the case's own copy of its due date (cases may not read
    this app's rows); one more statement, only when the date changes and ``write``."""
    if case.due_on == due_on:
        return
    if write:
        Case.objects.filter(pk=case.pk).update(due_on=due_on)
    case.due_on = due_on
