"""A rule edited in the admin applies to the open cases at once (through the worker), and
the reminders already sent are not sent again."""

from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from cases.models import Case
from deadlines.models import Clock, DeadlineRule, Reminder
from deadlines.recompute import recompute_clocks, recompute_kind
from deadlines.reminders import run_pass
from tests import factories

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def at(*args):
    return time_machine.travel(datetime(*args, 10, 0, tzinfo=PARIS), tick=False)


def rule_form(rule: DeadlineRule, **changes) -> dict:
    data = {
        "kind": rule.kind,
        "call": "",
        "silence": rule.silence,
        "period": rule.period,
        "unit": rule.unit,
        "on_changes": rule.on_changes,
        "regional_days": rule.regional_days,
        "ministerial_days": rule.ministerial_days,
        "reminders": rule.reminders,
    }
    return {**data, **changes}


def test_an_edited_rule_moves_the_open_cases_due_dates_and_sends_nothing_twice(
    client, reference_data, django_capture_on_commit_callbacks
):
    with at(2026, 4, 30):
        contract = factories.contract_in_state("regional_review")
    with at(2026, 6, 1):
        derogation = factories.derogation_in_state("regional_review")
    assert Case.objects.get(pk=contract.pk).due_on == date(2026, 6, 17)
    derogation_due = Case.objects.get(pk=derogation.pk).due_on
    assert run_pass(today=date(2026, 6, 2)) == 1  # J-15 of 17 June

    rule = DeadlineRule.objects.get(kind="contract", call__isnull=True)
    client.force_login(factories.ministry_agent(is_staff=True, is_superuser=True))
    url = reverse("admin:deadlines_deadlinerule_change", args=[rule.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, rule_form(rule, regional_days=10), follow=True)
    assert response.status_code == 200
    assert "en cours de recalcul" in response.content.decode()
    queued = DBTaskResult.objects.filter(task_path=recompute_clocks.module_path)
    assert [result.args_kwargs["args"] for result in queued] == [["contract"]]

    assert recompute_kind("contract") == 1
    # 30 April + 10 working days, past 1 May, 8 May and Ascension (14 May).
    assert Case.objects.get(pk=contract.pk).due_on == date(2026, 5, 19)
    assert Clock.objects.get(case=contract).stage_due_on == date(2026, 5, 19)
    assert Case.objects.get(pk=derogation.pk).due_on == derogation_due

    # Every step now past is caught up; the J-15 already sent is not sent again.
    assert run_pass(today=date(2026, 6, 2)) == 4
    steps = Counter(Reminder.objects.filter(case=contract).values_list("step", flat=True))
    assert steps == {"J-15": 1, "J-5": 1, "J-1": 1, "retard-1": 1, "retard-2": 1}
