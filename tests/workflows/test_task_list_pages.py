"""The task inbox in pages: each section paged on its own by a cursor, oldest first, every
task once; its queries do not grow with the number of tasks; bounded counts; scope."""

import re
from html import unescape
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from viewflow.workflow.models import Task

from accounts.models import User
from cases.management.commands.seed_scale import build
from workflows.selectors import open_tasks_for_user

pytestmark = pytest.mark.django_db

TASK_LINK = re.compile(r'href="/taches/(\d+)/"')
SECTION_NEXT = r'href="\?([^"]*section={section}&amp;cursor=[^"#]+)#{section}"[^>]*>Page suivante'


def synthetic(email: str) -> User:
    return User.objects.get(email=f"{email}@synthetique.invalid")


def section_of(html: str, section: str) -> list[int]:
    """The task ids listed in one section's table."""
    start = html.index(f'id="{section}-caption"')
    end = html.find("</table>", start)
    return [int(pk) for pk in TASK_LINK.findall(html[start:end])]


def walk(client, section: str) -> list[list[int]]:
    pattern = re.compile(SECTION_NEXT.format(section=section))
    url, pages = reverse("task-list"), []
    for _ in range(100):
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        pages.append(section_of(html, section))
        found = pattern.search(html)
        if not found:
            return pages
        url = f"{reverse('task-list')}?{unescape(found.group(1))}"
    raise AssertionError("the cursor does not move")


def data_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    # Without config.middleware's two statements (timeouts set and reset), which fetch nothing.
    return sum(
        1
        for query in captured.captured_queries
        if not query["sql"].startswith(("SELECT set_config(", "RESET "))
    )


def test_queue_pages_give_every_open_task_once_oldest_first(client, reference_data):
    call_command("seed_scale", contracts=700, stdout=StringIO())
    reviewer = synthetic("region-84-1")
    client.force_login(reviewer)
    queue = open_tasks_for_user(reviewer).filter(owner__isnull=True)
    expected = list(queue.order_by("created", "pk").values_list("pk", flat=True))
    assert len(expected) > 20
    pages = walk(client, "queue")
    assert [pk for page in pages for pk in page] == expected
    assert all(len(page) == 20 for page in pages[:-1])
    # Paging the queue leaves the other sections at their first page.
    mine = open_tasks_for_user(reviewer).filter(owner=reviewer)
    html = client.get(reverse("task-list")).content.decode()
    assert section_of(html, "mine") == list(
        mine.order_by("created", "pk").values_list("pk", flat=True)[:20]
    )


def test_taken_tasks_are_in_their_sections(client, reference_data):
    call_command("seed_scale", contracts=250, stdout=StringIO())
    minister = synthetic("ministere-1")
    colleague = synthetic("ministere-2")
    open_tasks = open_tasks_for_user(minister)
    Task.objects.filter(pk__in=open_tasks.values("pk")[:3]).update(
        owner=minister, status="ASSIGNED"
    )
    client.force_login(minister)
    pages = walk(client, "mine")
    mine = open_tasks.filter(owner=minister).order_by("created", "pk")
    assert [pk for page in pages for pk in page] == list(mine.values_list("pk", flat=True))
    others = open_tasks.filter(owner__isnull=False).exclude(owner=minister)
    assert others.filter(owner=colleague).exists() or others.exists()
    seen = [pk for page in walk(client, "others") for pk in page]
    assert seen == list(others.order_by("created", "pk").values_list("pk", flat=True))


def test_inbox_queries_do_not_grow_with_the_tasks(client, reference_data):
    call_command("seed_scale", contracts=40, stdout=StringIO())
    minister = synthetic("ministere-1")
    client.force_login(minister)
    small = data_queries(client, reverse("task-list"))
    build(800, seed=11)
    assert open_tasks_for_user(minister).count() > 100
    large = data_queries(client, reverse("task-list"))
    html = client.get(reverse("task-list")).content.decode()
    second = re.search(SECTION_NEXT.format(section="queue"), html)
    assert second is not None
    later = data_queries(client, f"{reverse('task-list')}?{unescape(second.group(1))}")
    assert small == large == later
    assert large <= 10


def test_counts_are_bounded_and_the_page_is_small(client, reference_data):
    call_command("seed_scale", contracts=4500, stdout=StringIO())
    minister = synthetic("ministere-1")
    client.force_login(minister)
    assert open_tasks_for_user(minister).filter(owner__isnull=True).count() > 1000
    response = client.get(reverse("task-list"))
    html = unescape(response.content.decode())
    assert "File d'attente (plus de 1\u202f000\u00a0tâches)" in html
    assert len(section_of(html, "queue")) == 20
    assert len(response.content) < 200_000


def test_a_bad_cursor_is_refused_in_french(client, reference_data):
    call_command("seed_scale", contracts=60, stdout=StringIO())
    client.force_login(synthetic("ministere-1"))
    response = client.get(reverse("task-list"), {"section": "queue", "cursor": "abc"})
    assert response.status_code == 400
    assert "Le lien de page est invalide" in unescape(response.content.decode())


def test_another_regions_tasks_are_never_listed(client, reference_data):
    call_command("seed_scale", contracts=200, stdout=StringIO())
    reviewer = synthetic("region-84-1")
    client.force_login(reviewer)
    listed = {pk for page in walk(client, "queue") for pk in page}
    elsewhere = Task.objects.exclude(
        process__caseprocess__case__territory__pilot_region__code="84"
    ).values_list("pk", flat=True)
    assert listed and not listed & set(elsewhere)
