"""The derogation process: stage tasks follow the case; opinion tasks run beside them."""

from datetime import timedelta

import pytest
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS, STATUS

from cases.derogations import services as derogations
from tests import factories
from workflows import selectors
from workflows.models import CaseProcess

pytestmark = pytest.mark.django_db


def open_tasks(request) -> list[str]:
    return sorted(
        task.flow_task.name
        for task in Task.objects.filter(
            process__caseprocess__case=request,
            flow_task_type="HUMAN",
            status__in=(STATUS.NEW, STATUS.ASSIGNED),
        )
    )


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("draft", ["drafting"]),
        ("regional_review", ["regional_review"]),
        ("ministerial_review", ["ministerial_review"]),
        ("decided", []),
        ("withdrawn", []),
    ],
)
def test_stage_tasks_follow_the_request(state, expected):
    request = factories.derogation_in_state(state)
    assert open_tasks(request) == expected


def ask(request, name):
    return derogations.opinion_request(
        case=request,
        actor=factories.ministry_agent(),
        organisation=factories.national_organisation("operator", name),
        due_on=timezone.localdate() + timedelta(days=7),
        question="Votre avis ?",
    )


def test_an_opinion_task_waits_on_the_consulted_organisation_only():
    request = factories.derogation_in_state("ministerial_review")
    opinion = ask(request, "Bpifrance")
    assert open_tasks(request) == ["ministerial_review", "opinion"]
    member, other = (
        factories.operator_agent("Bpifrance"),
        factories.operator_agent("France Travail"),
    )
    mine = selectors.open_tasks_for_user(member)
    assert [task.flow_task.name for task in mine] == ["opinion"]
    assert not selectors.open_tasks_for_user(other).exists()
    minister_sees = [
        t.flow_task.name for t in selectors.open_tasks_for_user(factories.ministry_agent())
    ]
    assert "opinion" not in minister_sees
    derogations.opinion_answer(opinion=opinion, actor=member, verdict="favourable", text="Oui")
    assert open_tasks(request) == ["ministerial_review"]
    done = Task.objects.get(
        process__caseprocess__case=request, flow_task_type="HUMAN", data__opinion=opinion.pk
    )
    assert (done.status, done.owner) == (STATUS.DONE, member)


def test_the_decision_cancels_opinions_still_awaited_and_ends_the_process():
    request = factories.derogation_in_state("ministerial_review")
    ask(request, "Bpifrance")
    derogations.case_decide(
        case=request,
        actor=factories.ministry_agent(),
        outcome="refused",
        motivation="Non",
        legal_basis="Art. 37-1 de la Constitution",
    )
    assert open_tasks(request) == []
    assert CaseProcess.objects.get(case=request).status == PROCESS.DONE
    late = request.opinions.get()
    with pytest.raises(derogations.ActionNotPossible):
        derogations.opinion_answer(
            opinion=late,
            actor=factories.operator_agent("Bpifrance"),
            verdict="favourable",
            text="Oui",
        )
