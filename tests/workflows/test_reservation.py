"""A task someone took is theirs: another reviewer takes it over, on the record, before
deciding; the server refuses whatever the page shows."""

import html

import pytest
from django.urls import reverse
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from cases.kernel import services
from cases.models import Case, CaseEvent
from cases.waves import services as waves
from tests import factories
from workflows import services as task_services
from workflows.engine import open_task_locked

pytestmark = pytest.mark.django_db

REFUSAL = "Cette tâche est prise en charge par {}. Reprenez-la pour décider. Rien n'a été modifié."


def open_task(contract) -> Task:
    return open_task_locked(Case.objects.get(pk=contract.pk))


def state_and_owner(contract, task) -> tuple:
    case = Case.objects.get(pk=contract.pk)
    task = Task.objects.get(pk=task.pk)
    return case.state, case.version, case.event_count, task.status, task.owner_id


@pytest.fixture
def taken():
    """A contract in regional review whose task reviewer A took; B reviews for the same Region."""
    contract = factories.contract_in_state("regional_review")
    first, second = factories.region_reviewer("84"), factories.region_reviewer("84")
    task = task_services.task_assign(task=open_task(contract), actor=first)
    return contract, task, first, second


def decide_on_case_page(client, contract):
    return client.post(
        reverse("contract-transition", args=[contract.reference]),
        {"transition": "approve", "version": factories.contract_version(contract)},
        follow=True,
    )


def decide_on_task_page(client, contract, task):
    return client.post(
        reverse("task-detail", args=[task.pk]),
        {"transition": "approve", "version": factories.contract_version(contract)},
        follow=True,
    )


WAYS = {
    "case page": lambda client, contract, task: decide_on_case_page(client, contract),
    "task page": decide_on_task_page,
}


@pytest.mark.parametrize("way", WAYS)
def test_a_taken_task_is_refused_to_another_reviewer(client, taken, way):
    contract, task, first, second = taken
    before = state_and_owner(contract, task)
    client.force_login(second)
    page = html.unescape(WAYS[way](client, contract, task).content.decode())
    assert REFUSAL.format(first) in page
    assert state_and_owner(contract, task) == before
    assert before[0] == "regional_review" and before[3:] == (STATUS.ASSIGNED, first.pk)


def test_the_service_refuses_too_and_rolls_everything_back(taken):
    contract, task, first, second = taken
    before = state_and_owner(contract, task)
    with pytest.raises(services.ActionNotPossible) as refused:
        services.run_transition(case=contract, actor=second, name="approve")
    assert refused.value.message == REFUSAL.format(first)
    assert state_and_owner(contract, task) == before


def test_taking_over_is_recorded_then_the_new_owner_decides(client, taken):
    contract, task, first, second = taken
    client.force_login(second)
    task_page = client.get(reverse("task-detail", args=[task.pk])).content.decode()
    assert f"prise en charge par {first}" in task_page
    assert reverse("task-take-over", args=[task.pk]) in task_page
    case_page = client.get(reverse("contract-detail", args=[contract.reference])).content.decode()
    assert f"prise en charge par {first}" in case_page
    assert reverse("task-take-over", args=[task.pk]) in case_page

    response = client.post(reverse("task-take-over", args=[task.pk]), follow=True)
    assert "Vous avez repris cette tâche" in response.content.decode()
    assert Task.objects.get(pk=task.pk).owner_id == second.pk
    event = CaseEvent.objects.filter(case_id=contract.pk).order_by("-seq").first()
    assert (event.name, event.actor_id, event.label, event.private) == (
        "task_takeover",
        second.pk,
        "Reprise de la tâche",
        True,
    )
    assert str(first) in event.comment and event.payload["previous_owner"] == first.pk

    response = decide_on_case_page(client, contract)
    assert "C'est fait" in html.unescape(response.content.decode())
    assert Case.objects.get(pk=contract.pk).state == "ministerial_review"
    assert Task.objects.get(pk=task.pk).status == STATUS.DONE
    assert Task.objects.get(pk=task.pk).owner_id == second.pk


def test_the_owner_decides_without_taking_over(taken):
    contract, task, first, _second = taken
    services.run_transition(case=contract, actor=first, name="approve")
    assert Case.objects.get(pk=contract.pk).state == "ministerial_review"
    assert Task.objects.get(pk=task.pk).owner_id == first.pk


def test_the_epci_withdraws_while_a_reviewer_holds_the_review(taken):
    contract, task, _first, _second = taken
    services.case_withdraw(case=contract, actor=contract.created_by)
    assert Case.objects.get(pk=contract.pk).state == "withdrawn"
    assert Task.objects.get(pk=task.pk).status == STATUS.DONE


def test_a_wave_contractualises_a_contract_whose_task_someone_holds():
    wave, minister = factories.wave_of(1)
    contract = waves.contracts_of(wave).get()
    holder = factories.ministry_agent()
    task_services.task_assign(task=open_task(contract), actor=holder)
    waves.wave_validate(wave=wave, actor=minister)
    assert Case.objects.get(pk=contract.pk).state == "contractualised"


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("owner", None),
        ("reviewer of another Region", services.ActionForbidden),
        ("EPCI agent", services.ActionForbidden),
    ],
)
def test_who_may_take_over(taken, who, expected):
    contract, task, first, _second = taken
    actor = {
        "owner": first,
        "reviewer of another Region": factories.region_reviewer("28"),
        "EPCI agent": contract.created_by,
    }[who]
    events = Case.objects.get(pk=contract.pk).event_count
    if expected is None:
        task_services.task_take_over(task=task, actor=actor)
    else:
        with pytest.raises(expected):
            task_services.task_take_over(task=task, actor=actor)
    assert Task.objects.get(pk=task.pk).owner_id == first.pk
    assert Case.objects.get(pk=contract.pk).event_count == events


def test_a_task_no_one_holds_is_taken_not_taken_over(taken):
    _contract, task, first, second = taken
    task_services.task_release(task=task, actor=first)
    with pytest.raises(services.ActionNotPossible, match="personne"):
        task_services.task_take_over(task=task, actor=second)


def test_the_region_opinion_of_a_taken_derogation_is_refused_to_another_reviewer():
    """The opinion is the stage's work: giving it for the holder is refused like deciding."""
    from cases.derogations import services as derogations

    derogation = factories.derogation_in_state("regional_review")
    first, second = factories.region_reviewer("84"), factories.region_reviewer("84")
    task = task_services.task_assign(task=open_task(derogation), actor=first)
    before = Case.objects.get(pk=derogation.pk).event_count
    with pytest.raises(services.ActionNotPossible) as error:
        derogations.region_opinion_give(
            case=derogation,
            actor=second,
            opinion="unfavourable",
            reasons="Avis d'un autre instructeur.",
            expected_version=factories.contract_version(derogation),
        )
    assert error.value.message == REFUSAL.format(first)
    fresh = type(derogation).objects.get(pk=derogation.pk)
    assert (fresh.region_opinion, fresh.event_count) == ("", before)
    assert Task.objects.get(pk=task.pk).owner_id == first.pk
    derogations.region_opinion_give(
        case=derogation,
        actor=first,
        opinion="favourable",
        reasons="Avis de l'instructeur en charge.",
        expected_version=factories.contract_version(derogation),
    )
    assert type(derogation).objects.get(pk=derogation.pk).region_opinion == "favourable"
