"""The notifications page: the newest first, keyset pages (no COUNT, no OFFSET), a bounded
count, and a refused cursor answered in French."""

import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.models import CaseEvent
from notifications.models import Notification
from tests import factories

pytestmark = pytest.mark.django_db
PAGE = "/notifications/"
NEXT = re.compile(r'href="\?([^"]*cursor=[^"#]+)"\s*>Page suivante')


def notified(user, count: int) -> None:
    contract = factories.contract_in_state("draft")
    event = CaseEvent.objects.filter(case=contract).first()
    start = Notification.objects.filter(recipient=user).count()
    Notification.objects.bulk_create(
        Notification(
            recipient=user,
            case=contract,
            event=event,
            seq=start + number,
            kind="submit",
            text=f"Message {start + number}",
            link="/",
            created_at=timezone.now(),
            read_at=timezone.now() if number % 2 else None,
        )
        for number in range(1, count + 1)
    )


def texts(body: str) -> list[int]:
    return [int(n) for n in re.findall(r">Message (\d+)</a>", body)]


def test_pages_follow_the_newest_first_and_reach_the_oldest(client, reference_data):
    user = factories.region_reviewer("84")
    notified(user, 65)
    client.force_login(user)
    body = client.get(PAGE).content.decode()
    assert texts(body) == list(range(65, 35, -1))
    assert "65\u00a0notifications" in body
    following = unescape(NEXT.search(body).group(1))
    second = client.get(f"{PAGE}?{following}").content.decode()
    assert texts(second) == list(range(35, 5, -1))
    third = client.get(f"{PAGE}?{unescape(NEXT.search(second).group(1))}").content.decode()
    assert texts(third) == [5, 4, 3, 2, 1]
    assert not NEXT.search(third)


def test_the_unread_pages_hold_the_unread_only(client, reference_data):
    user = factories.region_reviewer("84")
    notified(user, 64)
    client.force_login(user)
    body = client.get(PAGE, {"filtre": "non-lues"}).content.decode()
    assert texts(body) == list(range(64, 4, -2))
    assert "32\u00a0notifications non lues" in body
    following = unescape(NEXT.search(body).group(1))
    assert "filtre=non-lues" in following
    assert texts(client.get(f"{PAGE}?{following}").content.decode()) == [4, 2]


def test_a_page_costs_the_same_queries_whatever_the_number_of_notifications(client, reference_data):
    user = factories.region_reviewer("84")
    client.force_login(user)
    counts = []
    for more in (40, 400):
        notified(user, more)
        body = client.get(PAGE).content.decode()
        following = unescape(NEXT.search(body).group(1))
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"{PAGE}?{following}").status_code == 200
        counts.append(len(captured))
        assert not any("OFFSET" in q["sql"] for q in captured.captured_queries)
    assert counts[0] == counts[1]


def test_a_broken_cursor_shows_the_first_page_with_a_french_error(client, reference_data):
    user = factories.region_reviewer("84")
    notified(user, 3)
    client.force_login(user)
    response = client.get(PAGE, {"cursor": "pas-un-curseur"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Le lien de page est invalide ou périmé" in body
    assert texts(body) == [3, 2, 1]


def test_nobody_sees_another_users_notifications(client, reference_data):
    owner, other = factories.region_reviewer("84"), factories.region_reviewer("84")
    notified(owner, 3)
    client.force_login(other)
    body = client.get(PAGE).content.decode()
    assert texts(body) == []
    assert "Aucune notification" in body
