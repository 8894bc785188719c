"""Task inbox and queue: scoped by role and territory; out of scope is a 404."""

import pytest
from django.urls import reverse
from viewflow.workflow.status import STATUS

from cases.models import Case
from tests import factories
from workflows import selectors
from workflows.engine import open_task_locked

pytestmark = pytest.mark.django_db

# Territory 8414 (EPCI 200000172) is piloted by Region 84; 200065597 and Region 28 are elsewhere.
USERS = {
    "epci_in": lambda: factories.epci_agent("200000172"),
    "epci_out": lambda: factories.epci_agent("200065597"),
    "region_in": lambda: factories.region_reviewer("84"),
    "region_out": lambda: factories.region_reviewer("28"),
    "ministry": factories.ministry_agent,
    "operator": factories.operator_agent,
    "steering": factories.steering_member,
}
WHO_SEES = {
    "draft": {"epci_in"},
    "regional_review": {"region_in"},
    "ministerial_review": {"ministry"},
    "signed_off": {"ministry"},
}
TABLE = [(state, user) for state in WHO_SEES for user in USERS]


def open_task(contract):
    return open_task_locked(Case.objects.get(pk=contract.pk))


@pytest.mark.parametrize(("state", "who"), TABLE, ids=[f"{s}-{u}" for s, u in TABLE])
def test_task_scope_table(client, state, who):
    contract = factories.contract_in_state(state)
    task = open_task(contract)
    user = USERS[who]()
    allowed = who in WHO_SEES[state]
    assert selectors.open_tasks_for_user(user).filter(pk=task.pk).exists() is allowed
    client.force_login(user)
    listing = client.get(reverse("task-list")).content.decode()
    assert (contract.reference in listing) is allowed
    assert client.get(reverse("task-detail", args=[task.pk])).status_code == (
        200 if allowed else 404
    )
    if not allowed:
        assert client.post(reverse("task-assign", args=[task.pk])).status_code == 404
        decision = {"transition": "approve", "version": contract.version}
        assert client.post(reverse("task-detail", args=[task.pk]), decision).status_code == 404
        assert Case.objects.get(pk=contract.pk).event_count == contract.event_count


def test_deciding_from_the_task_page_moves_the_case_and_the_task(client):
    contract = factories.contract_in_state("regional_review")
    task = open_task(contract)
    reviewer = factories.region_reviewer("84")
    client.force_login(reviewer)
    page = client.get(reverse("task-detail", args=[task.pk])).content.decode()
    assert "Transmettre au ministère" in page and "Rejeter le dossier" in page
    response = client.post(
        reverse("task-detail", args=[task.pk]),
        {"transition": "approve", "version": contract.version},
        follow=True,
    )
    assert "Validation ministérielle" in response.content.decode()
    assert Case.objects.get(pk=contract.pk).state == "ministerial_review"
    task.refresh_from_db()
    assert (task.status, task.owner) == (STATUS.DONE, reviewer)
    again = client.post(
        reverse("task-detail", args=[task.pk]),
        {"transition": "reject", "version": contract.version + 1, "comment": "Non"},
        follow=True,
    )
    assert "déjà traitée" in again.content.decode()
    assert Case.objects.get(pk=contract.pk).state == "ministerial_review"


def test_a_refused_decision_says_why_and_changes_nothing(client):
    contract = factories.contract_in_state("regional_review")
    task = open_task(contract)
    client.force_login(factories.region_reviewer("84"))
    response = client.post(
        reverse("task-detail", args=[task.pk]),
        {"transition": "reject", "version": contract.version, "comment": ""},
        follow=True,
    )
    assert "Un commentaire est obligatoire" in response.content.decode()
    assert Case.objects.get(pk=contract.pk).state == "regional_review"


def test_take_and_release_a_task(client):
    contract = factories.contract_in_state("ministerial_review")
    task = open_task(contract)
    first, second = factories.ministry_agent(), factories.ministry_agent()
    client.force_login(first)
    client.post(reverse("task-assign", args=[task.pk]))
    task.refresh_from_db()
    assert (task.status, task.owner) == (STATUS.ASSIGNED, first)
    listing = client.get(reverse("task-list")).content.decode()
    assert listing.index(contract.reference) < listing.index("File d'attente")

    client.force_login(second)
    refused = client.post(reverse("task-assign", args=[task.pk]), follow=True)
    assert f"déjà prise en charge par {first}" in refused.content.decode()
    refused = client.post(reverse("task-release", args=[task.pk]), follow=True)
    assert "Seule la personne qui a pris la tâche" in refused.content.decode()
    task.refresh_from_db()
    assert task.owner == first

    client.force_login(first)
    client.post(reverse("task-release", args=[task.pk]))
    task.refresh_from_db()
    assert (task.status, task.owner) == (STATUS.NEW, None)


def test_a_colleague_decides_a_task_someone_took_once_they_take_it_over(client):
    contract = factories.contract_in_state("ministerial_review")
    task = open_task(contract)
    holder, colleague = factories.ministry_agent(), factories.ministry_agent()
    client.force_login(holder)
    client.post(reverse("task-assign", args=[task.pk]))
    client.force_login(colleague)
    decision = {"transition": "sign_off", "version": contract.version}
    client.post(reverse("task-detail", args=[task.pk]), decision)
    task.refresh_from_db()
    assert (task.status, task.owner) == (STATUS.ASSIGNED, holder)
    assert Case.objects.get(pk=contract.pk).state == "ministerial_review"
    client.post(reverse("task-take-over", args=[task.pk]))
    client.post(reverse("task-detail", args=[task.pk]), decision)
    task.refresh_from_db()
    assert (task.status, task.owner) == (STATUS.DONE, colleague)
    assert Case.objects.get(pk=contract.pk).state == "signed_off"


def test_the_contractualisation_task_says_it_goes_through_a_wave(client):
    contract = factories.contract_in_state("signed_off")
    client.force_login(factories.ministry_agent())
    page = client.get(reverse("task-detail", args=[open_task(contract).pk])).content.decode()
    assert "vague de signature" in page and 'name="transition"' not in page
