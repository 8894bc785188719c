"""A case's clock from its transitions: receipt, pauses, restarts, stages, days off."""

from datetime import date

import pytest

from cases.kernel import services
from deadlines.calendar import FrenchCalendar
from deadlines.clocks import LATE, LATER, Step, compute, next_reminder, schedule
from deadlines.models import Clock, DeadlineRule
from tests import factories

NATIONAL = FrenchCalendar()
MOSELLE = FrenchCalendar.for_departements(["57"])


def rule(**changes) -> DeadlineRule:
    values = {
        "kind": "contract",
        "silence": "none",
        "period": 2,
        "unit": "months",
        "on_changes": "pause",
        "regional_days": 30,
        "ministerial_days": 20,
        "reminders": "15,5,1",
    }
    return DeadlineRule(**{**values, **changes})


def submit(day):
    return Step("submit", "regional_review", day)


def changes(day):
    return Step("request_changes", "draft", day)


def test_two_months_from_receipt_and_the_regional_target_in_working_days():
    state = compute(rule(), NATIONAL, [submit(date(2026, 4, 30))])
    assert state.received_on == date(2026, 4, 30)
    assert state.legal_end_on == state.legal_due_on == date(2026, 6, 30)
    # 30 working days from Thursday 30 April: 1, 8, 14 and 25 May are off.
    assert state.stage == "regional_review"
    assert state.stage_due_on == date(2026, 6, 17)
    assert state.due_on == date(2026, 6, 17)


def test_a_period_ending_on_a_saturday_is_due_the_next_working_day():
    state = compute(rule(regional_days=100), NATIONAL, [submit(date(2025, 12, 31))])
    assert state.legal_end_on == date(2026, 2, 28)  # a Saturday
    assert state.legal_due_on == date(2026, 3, 2)


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        # Paused from Tuesday 28 April to Wednesday 6 May 2026: 8 calendar days, 5 working
        # days (1 May is off).
        ("months", date(2026, 6, 9)),  # 1 June + 8
        ("calendar_days", date(2026, 5, 29)),  # 1 April + 50 + 8
        # 40 + 5 working days from Wednesday 1 April (6 April, 1, 8, 14, 25 May off).
        ("working_days", date(2026, 6, 10)),
    ],
)
def test_a_pause_across_a_holiday_adds_its_days_in_the_periods_own_unit(unit, expected):
    period = {"months": 2, "calendar_days": 50, "working_days": 40}[unit]
    steps = [submit(date(2026, 4, 1)), changes(date(2026, 4, 28)), submit(date(2026, 5, 6))]
    state = compute(rule(unit=unit, period=period), NATIONAL, steps)
    assert state.pauses == [[date(2026, 4, 28), date(2026, 5, 6)]]
    assert state.legal_end_on == expected
    assert state.received_on == date(2026, 4, 1)
    # The stage's target starts again from the new submission.
    assert state.stage_started_on == date(2026, 5, 6)


def test_a_restart_counts_the_whole_period_again_from_the_new_submission():
    steps = [submit(date(2026, 4, 1)), changes(date(2026, 4, 10)), submit(date(2026, 4, 20))]
    state = compute(rule(on_changes="restart"), NATIONAL, steps)
    assert state.received_on == date(2026, 4, 1)
    assert state.legal_end_on == date(2026, 6, 20)  # a Saturday
    assert state.legal_due_on == date(2026, 6, 22)


def test_while_changes_are_asked_the_clock_is_paused_and_nothing_is_due():
    state = compute(rule(), NATIONAL, [submit(date(2026, 4, 1)), changes(date(2026, 4, 10))])
    assert state.paused
    assert state.legal_due_on is None and state.due_on is None
    assert state.pauses == [[date(2026, 4, 10), None]]


@pytest.mark.parametrize(
    "last",
    [
        Step("withdraw", "withdrawn", date(2026, 4, 9)),
        Step("reject", "rejected", date(2026, 4, 9)),
        Step("decide", "decided", date(2026, 4, 9)),
        Step("sign_off", "signed_off", date(2026, 4, 9)),
    ],
)
def test_a_withdrawn_rejected_or_decided_case_has_no_clock(last):
    assert compute(rule(), NATIONAL, [submit(date(2026, 4, 1)), last]) is None


def test_a_draft_never_submitted_has_no_clock():
    assert compute(rule(), NATIONAL, []) is None


def test_the_ministerial_stage_has_its_own_target_in_the_territorys_calendar():
    steps = [submit(date(2026, 3, 2)), Step("approve", "ministerial_review", date(2026, 4, 1))]
    national = compute(rule(ministerial_days=2), NATIONAL, steps)
    moselle = compute(rule(ministerial_days=2), MOSELLE, steps)
    assert national.stage == "ministerial_review"
    assert national.stage_due_on == date(2026, 4, 3)  # Good Friday worked nationally
    assert moselle.stage_due_on == date(2026, 4, 7)  # not in Moselle, then Easter Monday


def test_reminders_before_the_due_date_then_the_escalations():
    due = date(2026, 6, 15)
    steps = schedule(rule(), NATIONAL, due)
    assert steps == {
        "J-15": date(2026, 5, 31),
        "J-5": date(2026, 6, 10),
        "J-1": date(2026, 6, 14),
        LATE: date(2026, 6, 16),
        LATER: date(2026, 6, 22),
    }
    assert next_reminder(rule(), NATIONAL, due, set()) == date(2026, 5, 31)
    assert next_reminder(rule(), NATIONAL, due, {"J-15", "J-5"}) == date(2026, 6, 14)
    assert next_reminder(rule(), NATIONAL, due, set(steps)) is None


@pytest.mark.django_db
def test_the_clock_row_follows_the_transitions(reference_data):
    contract = factories.contract_in_state("regional_review")
    clock = Clock.objects.get(case=contract)
    assert clock.stage == "regional_review"
    assert clock.due_on == clock.stage_due_on
    assert clock.next_reminder_on is not None
    author = contract.created_by
    services.run_transition(case=contract, actor=author, name="withdraw", comment="")
    assert not Clock.objects.filter(case=contract).exists()
