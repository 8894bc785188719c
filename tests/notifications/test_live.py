"""Notifications over a real WebSocket served by uvicorn, through the real Redis."""

import asyncio
import json

import httpx
import pytest
import websockets
import websockets.exceptions
from django.db import connections

from cases.kernel import services
from notifications.models import Notification
from tests import factories
from tests.notifications.test_smoke import log_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(reference_data, module_server):
    return module_server


def session_cookies(server: str, user) -> dict:
    with httpx.Client(base_url=server, timeout=10) as client:
        log_in(client, user.email)
        return dict(client.cookies)


def ws_url(server: str) -> str:
    return server.replace("http://", "ws://") + "/ws/notifications/"


def opened(server: str, cookies: dict):
    """A WebSocket to the notifications, in the session that ``cookies`` carry."""
    return websockets.connect(ws_url(server), additional_headers=headers(server, cookies))


def headers(server: str, cookies: dict | None = None, origin: str | None = None) -> dict:
    result = {"Origin": origin or server}
    if cookies:
        result["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return result


async def receive_until(socket, kind: str, timeout: float = 5.0) -> list[dict]:
    """Every message up to and including the first of ``kind``."""
    seen = []
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), timeout))
        seen.append(message)
        if message["type"] == kind:
            return seen


async def say_hello(socket, last_seq: int = 0, timeout: float = 5.0) -> list[dict]:
    """Tell the server where the client stands; return what it sends up to ``caught_up``."""
    await socket.send(json.dumps({"type": "hello", "last_seq": last_seq}))
    return await receive_until(socket, "caught_up", timeout)


async def quiet(socket, seconds: float) -> list[dict]:
    """What arrives within ``seconds``; nothing is expected."""
    received = []
    try:
        while True:
            received.append(json.loads(await asyncio.wait_for(socket.recv(), seconds)))
    except TimeoutError:
        return received


async def in_thread(function, *args, **kwargs):
    """Run database work off the event loop, and close the thread's connection after."""

    def run():
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()

    return await asyncio.to_thread(run)


def submitted(count: int, author) -> list:
    contracts = [factories.contract_in_state("draft", author=author) for _ in range(count)]
    for contract in contracts:
        services.case_submit(case=contract, actor=author)
    return contracts


@pytest.mark.parametrize("case", ["no session", "foreign origin"])
def test_refused_connections(server, case):
    reviewer = factories.region_reviewer("84")
    cookies = None if case == "no session" else session_cookies(server, reviewer)
    origin = "http://evil.example" if case == "foreign origin" else None

    async def attempt():
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            async with websockets.connect(
                ws_url(server), additional_headers=headers(server, cookies, origin)
            ):
                pass
        return refused.value.response.status_code

    assert asyncio.run(attempt()) == 403


def test_catch_up_returns_exactly_the_missed_ones_in_order_then_live(server):
    author, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    submitted(4, author)
    mine = list(
        Notification.objects.filter(recipient=reviewer)
        .order_by("pk")
        .values_list("pk", "seq", named=True)
    )
    assert [row.seq for row in mine] == [1, 2, 3, 4]
    cookies = session_cookies(server, reviewer)

    async def scenario():
        async with opened(server, cookies) as socket:
            caught = await say_hello(socket, mine[0].seq)
            got = [m["notification"]["id"] for m in caught if m["type"] == "notification"]
            assert caught[-1]["unread"] == 4
            await in_thread(submitted, 1, author)
            live = await receive_until(socket, "notification")
            return got, live[-1]["notification"]

    got, live = asyncio.run(scenario())
    assert got == [row.pk for row in mine[1:]]
    latest = Notification.objects.filter(recipient=reviewer).latest("pk")
    assert (live["id"], live["seq"]) == (latest.pk, 5)
    assert live["link"].startswith("/contrats/CT-")


def test_no_one_receives_another_users_notifications(server):
    author = factories.epci_agent("200000172")
    reviewer, stranger = factories.region_reviewer("84"), factories.region_reviewer("28")
    cookies = session_cookies(server, stranger)
    contract = factories.contract_in_state("draft", author=author)

    async def scenario():
        async with opened(server, cookies) as socket:
            await say_hello(socket)
            # Joining another user's group or an out-of-scope case's group by message fails.
            await socket.send(json.dumps({"type": "watch", "case": contract.pk}))
            refusal = await receive_until(socket, "error")
            await socket.send(json.dumps({"type": "join", "group": f"user.{reviewer.pk}"}))
            unknown = await receive_until(socket, "error")
            await in_thread(services.case_submit, case=contract, actor=author)
            return refusal[-1], unknown[-1], await quiet(socket, 1.5)

    refusal, unknown, leaked = asyncio.run(scenario())
    assert refusal["message"] == "Dossier introuvable."
    assert unknown["message"] == "Message inconnu."
    assert leaked == []
    assert Notification.objects.filter(recipient=reviewer).count() == 1


def test_read_marks_and_unread_count_over_the_socket(server):
    author, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    submitted(3, author)
    first = Notification.objects.filter(recipient=reviewer).order_by("pk").first()
    cookies = session_cookies(server, reviewer)

    async def scenario():
        async with opened(server, cookies) as socket:
            await say_hello(socket)
            await socket.send(json.dumps({"type": "read", "id": first.pk}))
            after_one = (await receive_until(socket, "unread"))[-1]["count"]
            await socket.send(json.dumps({"type": "read_all"}))
            after_all = (await receive_until(socket, "unread"))[-1]["count"]
            await socket.send(json.dumps({"type": "ping"}))
            pong = (await receive_until(socket, "pong"))[-1]
            return after_one, after_all, pong

    after_one, after_all, pong = asyncio.run(scenario())
    assert (after_one, after_all) == (2, 0)
    assert "time" in pong
    assert not Notification.objects.filter(recipient=reviewer, read_at__isnull=True).exists()


def test_watching_a_case_tells_of_changes_made_by_others(server):
    author, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    contract = factories.contract_in_state("regional_review", author=author)
    cookies = session_cookies(server, author)

    async def scenario():
        async with opened(server, cookies) as socket:
            await say_hello(socket)
            await socket.send(json.dumps({"type": "watch", "case": contract.pk}))
            await receive_until(socket, "watching")
            await in_thread(services.comment_add, case=contract, actor=reviewer, body="Vu")
            return await receive_until(socket, "case_changed")

    messages = asyncio.run(scenario())
    assert messages[-1] == {"type": "case_changed", "case": contract.pk}


class Pushes:
    """Records every push that tells someone; the ones numbered in ``lose`` are not sent."""

    def __init__(self, real_push, lose: set[int]):
        self.real_push, self.lose = real_push, lose
        self.recorded: list[tuple] = []

    def __call__(self, sends, case_id):
        if sends:  # creating a contract nudges its watchers, and tells no one
            self.recorded.append((sends, case_id))
            if len(self.recorded) in self.lose:
                return
        self.real_push(sends, case_id)


@pytest.fixture
def pushes(monkeypatch):
    from notifications import delivery

    def patch(lose: set[int] = frozenset()) -> Pushes:
        recorder = Pushes(delivery.push, set(lose))
        monkeypatch.setattr(delivery, "push", recorder)
        return recorder

    return patch


def test_a_lost_push_is_made_up_from_the_rows_at_the_next_one(server, pushes):
    author, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    cookies = session_cookies(server, reviewer)
    pushes(lose={1})

    async def scenario():
        async with opened(server, cookies) as socket:
            await say_hello(socket)
            await in_thread(submitted, 1, author)
            lost = await quiet(socket, 1.0)
            await in_thread(submitted, 1, author)
            first = await receive_until(socket, "notification")
            second = await receive_until(socket, "notification")
            return lost, first + second

    lost, received = asyncio.run(scenario())
    assert lost == []
    assert [m["notification"]["seq"] for m in received] == [1, 2]
    expected = Notification.objects.filter(recipient=reviewer).order_by("seq")
    assert [m["notification"]["id"] for m in received] == [n.pk for n in expected]


def test_a_push_that_comes_twice_is_sent_once(server, pushes):
    author, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    cookies = session_cookies(server, reviewer)
    recorder = pushes()

    async def scenario():
        async with opened(server, cookies) as socket:
            await say_hello(socket)
            await in_thread(submitted, 1, author)
            first = await receive_until(socket, "notification")
            await in_thread(recorder.real_push, *recorder.recorded[0])
            return first, await quiet(socket, 1.0)

    first, again = asyncio.run(scenario())
    assert first[-1]["notification"]["seq"] == 1
    assert [m for m in again if m["type"] == "notification"] == []
