"""Reminders and escalation: sent once, to whoever must act, caught up after a stop, never
for a case that is out of review; two workers at once send each step once."""

import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connections

from accounts.models import Membership
from cases.kernel import services
from cases.models import CaseEvent
from deadlines.models import Clock, Reminder
from deadlines.reminders import run_pass
from notifications.models import Notification
from tests import factories
from workflows.engine import open_task_locked
from workflows.services import task_assign

PARIS = ZoneInfo("Europe/Paris")
# Submitted on Thursday 30 April 2026: the regional stage is due Wednesday 17 June.
DUE = date(2026, 6, 17)


def submitted():
    with time_machine.travel(datetime(2026, 4, 30, 10, 0, tzinfo=PARIS), tick=False):
        return factories.contract_in_state("regional_review")


def steps(case) -> list[str]:
    return sorted(Reminder.objects.filter(case=case).values_list("step", flat=True))


def told(user, name="reminder") -> list[str]:
    return list(
        Notification.objects.filter(recipient=user, event__name=name).values_list("text", flat=True)
    )


@pytest.mark.django_db
def test_a_reminder_goes_to_the_region_on_its_day_and_only_once(reference_data):
    reviewer, other_region = factories.region_reviewer("84"), factories.region_reviewer("52")
    contract = submitted()
    clock = Clock.objects.get(case=contract)
    assert clock.due_on == DUE and clock.next_reminder_on == DUE - timedelta(days=15)
    assert run_pass(today=DUE - timedelta(days=16)) == 0
    assert run_pass(today=DUE - timedelta(days=15)) == 1
    assert run_pass(today=DUE - timedelta(days=15)) == 0  # the same day again
    assert steps(contract) == ["J-15"]
    (text,) = told(reviewer)
    assert contract.reference in text and "rappel d'échéance" in text
    assert "réponse attendue le mercredi 17\u00a0juin 2026, dans 15\u00a0jours" in text
    assert told(other_region) == [] and told(contract.created_by) == []
    event = CaseEvent.objects.get(case=contract, name="reminder")
    assert event.private and event.payload["step"] == "J-15"
    assert Clock.objects.get(case=contract).next_reminder_on == DUE - timedelta(days=5)


@pytest.mark.django_db
def test_after_a_stop_every_step_past_is_sent_once(reference_data):
    factories.region_reviewer("84")
    contract = submitted()
    assert run_pass(today=DUE + timedelta(days=2)) == 4
    assert steps(contract) == ["J-1", "J-15", "J-5", "retard-1"]
    assert run_pass(today=DUE + timedelta(days=2)) == 0
    # The ministry's turn comes five working days after the due date.
    assert run_pass(today=date(2026, 6, 24)) == 1
    assert steps(contract)[-1] == "retard-2"
    assert Clock.objects.get(case=contract).next_reminder_on is None


@pytest.mark.django_db
def test_late_cases_go_to_the_regions_leads_then_to_the_ministry(reference_data):
    reviewer, lead = factories.region_reviewer("84"), factories.region_reviewer("84")
    Membership.objects.filter(user=lead).update(lead=True)
    minister = factories.ministry_agent()
    submitted()
    run_pass(today=DUE + timedelta(days=1))
    assert len(told(lead, "escalation")) == 1
    assert told(reviewer, "escalation") == [] and told(minister, "escalation") == []
    run_pass(today=date(2026, 6, 24))
    assert len(told(minister, "escalation")) == 1
    assert "en retard de 7\u00a0jours" in told(minister, "escalation")[0]


@pytest.mark.django_db
def test_a_taken_task_reminds_its_reviewer_only(reference_data):
    taker, colleague = factories.region_reviewer("84"), factories.region_reviewer("84")
    contract = submitted()
    task_assign(task=open_task_locked(contract), actor=taker)
    run_pass(today=DUE - timedelta(days=5))
    assert len(told(taker)) == 2  # J-15 and J-5, caught up
    assert told(colleague) == []


@pytest.mark.django_db
@pytest.mark.parametrize("end", ["withdraw", "approve_then_sign_off"])
def test_nothing_is_sent_for_a_case_out_of_review(reference_data, end):
    factories.region_reviewer("84")
    contract = submitted()
    if end == "withdraw":
        services.run_transition(case=contract, actor=contract.created_by, name="withdraw")
    else:
        services.run_transition(
            case=contract, actor=factories.region_reviewer("84"), name="approve"
        )
        services.run_transition(case=contract, actor=factories.ministry_agent(), name="sign_off")
    assert run_pass(today=DUE + timedelta(days=30)) == 0
    assert steps(contract) == []


@pytest.mark.django_db
def test_a_request_for_changes_stops_the_reminders_until_the_new_submission(reference_data):
    reviewer = factories.region_reviewer("84")
    contract = submitted()
    run_pass(today=DUE - timedelta(days=15))
    with time_machine.travel(datetime(2026, 6, 3, 10, 0, tzinfo=PARIS), tick=False):
        services.run_transition(case=contract, actor=reviewer, name="request_changes", comment="x")
    assert run_pass(today=DUE + timedelta(days=10)) == 0
    with time_machine.travel(datetime(2026, 6, 10, 10, 0, tzinfo=PARIS), tick=False):
        services.run_transition(case=contract, actor=contract.created_by, name="submit")
    clock = Clock.objects.get(case=contract)
    # A new entry into the stage: its reminders start afresh, the J-15 of the first sent once.
    assert clock.due_on > DUE
    run_pass(today=clock.due_on - timedelta(days=15))
    assert steps(contract) == ["J-15", "J-15"]


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_step_once(reference_data):
    factories.region_reviewer("84")
    contracts = [submitted() for _ in range(6)]
    barrier = threading.Barrier(2)
    sent = []

    def worker():
        try:
            barrier.wait()
            sent.append(run_pass(today=DUE + timedelta(days=2)))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(sent) == 4 * len(contracts)
    for contract in contracts:
        assert steps(contract) == ["J-1", "J-15", "J-5", "retard-1"]
    assert CaseEvent.objects.filter(name__in=["reminder", "escalation"]).count() == 24


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_the_passes_itself(reference_data):
    import time

    from tests.support import worker_process

    factories.region_reviewer("84")
    contract = factories.contract_in_state("regional_review")
    # Already late: the due date two days ago.
    Clock.objects.filter(case=contract).update(
        due_on=date.today() - timedelta(days=2), next_reminder_on=date.today() - timedelta(days=17)
    )
    with worker_process(connections["default"].settings_dict["NAME"]):
        deadline = time.monotonic() + 60
        while len(steps(contract)) < 4:
            assert time.monotonic() < deadline, steps(contract)
            time.sleep(0.2)
    assert steps(contract) == ["J-1", "J-15", "J-5", "retard-1"]


@pytest.mark.django_db
def test_an_opinion_is_reminded_to_the_consulted_then_its_lateness_to_who_asked(reference_data):
    from accounts.models import Organisation
    from cases.derogations import services as derogations

    minister = factories.ministry_agent()
    operator = factories.operator_agent("Bpifrance")
    derogation = factories.derogation_in_state("ministerial_review")
    with time_machine.travel(datetime(2026, 6, 1, 10, 0, tzinfo=PARIS), tick=False):
        opinion = derogations.opinion_request(
            case=derogation,
            actor=minister,
            organisation=Organisation.objects.get(operator="bpifrance"),
            due_on=date(2026, 6, 20),
            question="Votre avis ?",
        )
    assert run_pass(today=date(2026, 6, 4)) == 0
    assert run_pass(today=date(2026, 6, 5)) == 1  # J-15
    assert run_pass(today=date(2026, 6, 5)) == 0
    (text,) = told(operator)
    assert "avis de Bpifrance attendu le samedi 20\u00a0juin 2026, dans 15\u00a0jours" in text
    assert run_pass(today=date(2026, 6, 22)) == 3  # J-5, J-1 and late, caught up
    assert len(told(operator)) == 3
    assert len(told(minister, "escalation")) == 1
    kept = Reminder.objects.filter(stage="opinion", stage_entry=opinion.pk)
    assert sorted(kept.values_list("step", flat=True)) == ["J-1", "J-15", "J-5", "retard-1"]


def pass_statements(today) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        run_pass(today=today)
    return len(captured)


@pytest.mark.django_db
def test_a_pass_costs_per_case_due_and_nothing_per_case_open(reference_data):
    """bench/deadlines.py measures it at scale; here its statements are counted."""
    factories.region_reviewer("84")
    contracts = [submitted() for _ in range(3)]
    today = DUE - timedelta(days=15)
    Clock.objects.exclude(case=contracts[0]).update(next_reminder_on=DUE)
    one_due = pass_statements(today)
    Reminder.objects.all().delete()
    Clock.objects.update(next_reminder_on=today)
    three_due = pass_statements(today)
    # Open cases not due cost nothing: the same pass with many more of them.
    Reminder.objects.all().delete()
    Clock.objects.exclude(case=contracts[0]).update(next_reminder_on=DUE)
    for _ in range(5):
        submitted()
    Clock.objects.update(next_reminder_on=DUE)
    Clock.objects.filter(case=contracts[0]).update(next_reminder_on=today)
    assert pass_statements(today) == one_due
    per_case = (three_due - one_due) // 2
    assert three_due == one_due + 2 * per_case
    assert per_case <= 16, per_case


@pytest.mark.django_db
def test_a_region_without_lead_reviewers_is_told_whole_when_late(reference_data):
    reviewers = [factories.region_reviewer("84"), factories.region_reviewer("84")]
    elsewhere = factories.region_reviewer("52")
    Membership.objects.filter(user=elsewhere).update(lead=True)  # a lead of another Region
    submitted()
    run_pass(today=DUE + timedelta(days=1))
    assert all(len(told(reviewer, "escalation")) == 1 for reviewer in reviewers)
    assert told(elsewhere, "escalation") == []


@pytest.mark.django_db
def test_an_opinion_and_a_stage_with_the_same_number_keep_their_own_reminders(reference_data):
    factories.region_reviewer("84")
    contract = submitted()
    clock = Clock.objects.get(case=contract)
    Reminder.objects.create(
        case=contract,
        stage="opinion",
        stage_entry=clock.stage_entry,
        step="J-15",
        due_on=DUE,
        sent_at=datetime(2026, 6, 1, tzinfo=PARIS),
    )
    assert run_pass(today=DUE - timedelta(days=15)) == 1
    assert steps(contract) == ["J-15", "J-15"]
