"""An avenant's review waits in the right inbox, and its task page shows what it changes."""

import html

import pytest
from django.urls import reverse

from tests import factories
from tests.cases.contracts.test_amendment_rules import amendment_in_state
from workflows import selectors

pytestmark = pytest.mark.django_db


def test_the_region_decides_an_avenant_from_its_task(client):
    amendment = amendment_in_state("regional_review")
    reviewer = factories.region_reviewer(amendment.territory.pilot_region.code)
    task = selectors.open_tasks_for_user(reviewer).get(process__caseprocess__case=amendment)
    assert task.flow_task.task_title == "Instruction régionale de l'avenant"
    outsider = factories.region_reviewer("28")
    assert not selectors.open_tasks_for_user(outsider).filter(pk=task.pk).exists()
    client.force_login(reviewer)
    page = html.unescape(client.get(reverse("task-detail", args=[task.pk])).content.decode())
    assert "Ce que l'avenant change" in page
    assert "Plateforme d'apprentissage" in page
    response = client.post(
        reverse("task-detail", args=[task.pk]),
        {"version": amendment.version, "transition": "approve", "comment": ""},
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    amendment.refresh_from_db()
    assert amendment.state == "ministerial_review"
    minister = factories.ministry_agent()
    assert (
        selectors.open_tasks_for_user(minister)
        .filter(process__caseprocess__case=amendment)
        .exists()
    )
