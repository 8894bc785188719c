"""The process follows the case: one open human task per live case, for the right stage."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS, STATUS

from cases.kernel import hooks, services
from cases.models import Case
from tests import factories
from workflows import engine
from workflows.models import CaseProcess

pytestmark = pytest.mark.django_db

EXPECTED_OPEN_TASK = {
    "draft": "drafting",
    "regional_review": "regional_review",
    "ministerial_review": "ministerial_review",
    "signed_off": "awaiting_contractualisation",
    "rejected": None,
    "withdrawn": None,
}


def human_tasks(case):
    return list(
        Task.objects.filter(process__caseprocess__case=case, flow_task_type="HUMAN").order_by("pk")
    )


def open_task_names(case) -> list[str]:
    return [
        task.flow_task.name
        for task in human_tasks(case)
        if task.status in (STATUS.NEW, STATUS.ASSIGNED)
    ]


@pytest.mark.parametrize(("state", "expected"), EXPECTED_OPEN_TASK.items())
def test_each_state_has_exactly_its_task_open(state, expected):
    contract = factories.contract_in_state(state)
    assert open_task_names(contract) == ([expected] if expected else [])
    process = CaseProcess.objects.get(case=contract)
    assert process.status == (PROCESS.NEW if expected else PROCESS.DONE)


def test_done_tasks_record_who_acted_in_order():
    contract = factories.contract_in_state("signed_off")
    done = [
        (task.flow_task.name, task.owner.email)
        for task in human_tasks(contract)
        if task.status == STATUS.DONE
    ]
    agent = contract.created_by.email
    reviewer = Case.objects.get(pk=contract.pk).events.get(name="approve").actor.email
    minister = Case.objects.get(pk=contract.pk).events.get(name="sign_off").actor.email
    assert done == [
        ("drafting", agent),
        ("regional_review", reviewer),
        ("ministerial_review", minister),
    ]


def test_request_changes_reopens_drafting():
    contract = factories.contract_in_state("ministerial_review")
    services.case_request_changes(
        case=contract, actor=factories.ministry_agent(), comment="Précisez le calendrier."
    )
    assert open_task_names(contract) == ["drafting"]
    assert [task.flow_task.name for task in human_tasks(contract)].count("drafting") == 2


def test_refused_transition_leaves_the_tasks_alone():
    contract = factories.contract_in_state("regional_review")
    before = [(task.pk, task.status) for task in human_tasks(contract)]
    outsider = factories.region_reviewer("28")
    with pytest.raises(services.ActionForbidden):
        services.case_approve(case=contract, actor=outsider)
    assert [(task.pk, task.status) for task in human_tasks(contract)] == before


def test_a_failing_flow_rolls_the_transition_back(monkeypatch):
    contract = factories.contract_in_state("regional_review")

    def broken(case, actor, *event_name):
        raise RuntimeError("panne du circuit")

    monkeypatch.setattr(engine, "advance_process", broken)
    with pytest.raises(RuntimeError):
        services.case_approve(case=contract, actor=factories.region_reviewer("84"))
    fresh = Case.objects.get(pk=contract.pk)
    assert (fresh.state, fresh.event_count) == ("regional_review", contract.event_count)
    assert open_task_names(contract) == ["regional_review"]


def test_the_hook_is_registered_once():
    assert hooks.listeners().count(engine.on_case_event) == 1


def test_cases_without_a_process_get_one_at_their_state(capsys):
    contract = factories.contract_in_state("regional_review")
    Task.objects.filter(process__caseprocess__case=contract).delete()
    CaseProcess.objects.filter(case=contract).delete()
    call_command("start_missing_processes")
    assert "1 circuit" in capsys.readouterr().out
    assert open_task_names(contract) == ["regional_review"]
    call_command("start_missing_processes")
    assert "déjà" in capsys.readouterr().out


def test_advancing_the_process_costs_four_statements():
    """The process's share of a transition: the open task and its process, locked in one
    read; the task closed; the next one opened; the link between them (viewflow's history).
    No lookup of content types, permissions or the process row of its own."""
    reviewer = factories.region_reviewer("84")
    contract = factories.contract_in_state("regional_review")
    with CaptureQueriesContext(connection) as queries:
        services.case_approve(case=contract, actor=reviewer)
    viewflow = [q["sql"][:60] for q in queries if '"viewflow_' in q["sql"]]
    assert len(viewflow) == 4, viewflow
    assert open_task_names(contract) == ["ministerial_review"]
