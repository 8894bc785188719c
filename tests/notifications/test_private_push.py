"""A private event (an internal note of the Region) is announced over the WebSocket only to
the case's watchers who may read it, through a real uvicorn and the real Redis."""

import asyncio
import json

import pytest
from django.db import connection

from cases.kernel import services
from notifications import delivery
from tests import factories
from tests.notifications.test_live import (
    in_thread,
    opened,
    quiet,
    receive_until,
    say_hello,
    session_cookies,
)
from tests.support import uvicorn_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(reference_data):
    with uvicorn_server(connection.settings_dict["NAME"]) as url:
        yield url


async def watching(socket, case_id: int) -> None:
    await say_hello(socket)
    await socket.send(json.dumps({"type": "watch", "case": case_id}))
    await receive_until(socket, "watching")


def kinds(messages: list[dict]) -> list[str]:
    return [message["type"] for message in messages]


def test_a_private_note_is_announced_to_the_ministry_and_not_to_the_epci(server):
    author, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    minister = factories.ministry_agent()
    contract = factories.contract_in_state("regional_review", author=author)
    epci_cookies, ministry_cookies = (
        session_cookies(server, author),
        session_cookies(server, minister),
    )

    async def scenario():
        async with (
            opened(server, epci_cookies) as epci,
            opened(server, ministry_cookies) as ministry,
        ):
            await watching(epci, contract.pk)
            await watching(ministry, contract.pk)
            await in_thread(
                services.comment_add, case=contract, actor=reviewer, body="Note", private=True
            )
            await in_thread(services.comment_add, case=contract, actor=reviewer, body="Public")
            # The comment's pushes travel after the note's, in order: by the time the EPCI
            # gets the comment's notification, the note's nudge would have come before it.
            epci_until_comment = await receive_until(epci, "notification")
            epci_after = await receive_until(epci, "case_changed")
            epci_late = await quiet(epci, 0.5)
            ministry_first = await receive_until(ministry, "case_changed")
            ministry_second = await receive_until(ministry, "case_changed")
            ministry_late = await quiet(ministry, 0.5)
            return (
                epci_until_comment,
                epci_after,
                epci_late,
                ministry_first,
                ministry_second,
                ministry_late,
            )

    (epci_until_comment, epci_after, epci_late, m_first, m_second, m_late) = asyncio.run(scenario())
    assert "case_changed" not in kinds(epci_until_comment)
    assert epci_until_comment[-1]["notification"]["kind"] == "comment"
    assert epci_after[-1] == {"type": "case_changed", "case": contract.pk}
    assert "case_changed" not in kinds(epci_late)
    # The ministry reads the note: told of it (a notification, then the nudge), then of the
    # comment, and nothing else.
    assert [m["notification"]["kind"] for m in m_first if m["type"] == "notification"] == [
        "private_note"
    ]
    assert m_first[-1] == {"type": "case_changed", "case": contract.pk}
    assert [m["notification"]["kind"] for m in m_second if m["type"] == "notification"] == [
        "comment"
    ]
    assert m_second[-1] == {"type": "case_changed", "case": contract.pk}
    assert "case_changed" not in kinds(m_late)


def test_the_nudge_of_a_private_event_says_so_and_a_public_one_stays_as_it_was():
    assert delivery.case_changed(7, private=True) == {
        "type": "case.changed",
        "case": 7,
        "private": True,
    }
    assert delivery.case_changed(7) == {"type": "case.changed", "case": 7}
