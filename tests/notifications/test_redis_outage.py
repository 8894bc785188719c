"""Redis down during a burst of transitions: every transition commits, and once Redis is
back the client gets everything through catch-up. Zero lost."""

import asyncio

import pytest
from channels.layers import channel_layers
from django.db import connection

from cases.models import Case
from notifications.models import Notification
from tests import factories
from tests.notifications.test_live import (
    in_thread,
    opened,
    say_hello,
    session_cookies,
    submitted,
)
from tests.support import redis_server, uvicorn_server

pytestmark = pytest.mark.django_db(transaction=True)
BURST = 20


@pytest.fixture
def own_redis(settings):
    with redis_server() as redis:
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "notifications.layer.PubSubLayer",
                "CONFIG": {"hosts": [redis.url]},
            }
        }
        channel_layers.backends.clear()
        yield redis
    channel_layers.backends.clear()


async def hello_then_stop(server, cookies, redis) -> None:
    """A socket that was live, so that the server holds a Redis connection; then Redis goes."""
    async with opened(server, cookies) as socket:
        await say_hello(socket)
    redis.stop()


def test_a_burst_while_redis_is_down_loses_nothing(reference_data, own_redis):
    author, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    with uvicorn_server(connection.settings_dict["NAME"], REDIS_URL=own_redis.url) as server:
        cookies = session_cookies(server, reviewer)

        async def scenario():
            await hello_then_stop(server, cookies, own_redis)
            contracts = await in_thread(submitted, BURST, author)
            own_redis.start()
            async with opened(server, cookies) as socket:
                caught = await say_hello(socket, timeout=10)
            # The first socket may find a stale Redis connection and say the live stream is
            # off; the browser then reconnects, as here, until it is back.
            last = max(m["notification"]["seq"] for m in caught if m["type"] == "notification")
            for _ in range(10):
                if caught[-1]["live"]:
                    break
                await asyncio.sleep(0.5)
                async with opened(server, cookies) as socket:
                    again = await say_hello(socket, last, timeout=10)
                assert [m for m in again if m["type"] == "notification"] == []
                caught = caught[:-1] + again
            assert caught[-1]["live"] is True
            return contracts, [
                m["notification"]["id"] for m in caught if m["type"] == "notification"
            ]

        contracts, received = asyncio.run(scenario())
    states = set(
        Case.objects.filter(pk__in=[c.pk for c in contracts]).values_list("state", flat=True)
    )
    assert states == {"regional_review"}
    expected = list(
        Notification.objects.filter(recipient=reviewer).order_by("pk").values_list("pk", flat=True)
    )
    assert len(expected) == BURST
    assert received == expected


def test_a_socket_opened_while_redis_is_down_still_serves_the_rows(reference_data, own_redis):
    author, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    with uvicorn_server(connection.settings_dict["NAME"], REDIS_URL=own_redis.url) as server:
        cookies = session_cookies(server, reviewer)

        async def scenario():
            await hello_then_stop(server, cookies, own_redis)
            await in_thread(submitted, 2, author)
            # Its channel cannot be subscribed: the handshake is still accepted, not a 500.
            async with opened(server, cookies) as socket:
                return await say_hello(socket, timeout=10)

        caught = asyncio.run(scenario())
        own_redis.start()
    received = [m["notification"]["id"] for m in caught if m["type"] == "notification"]
    expected = Notification.objects.filter(recipient=reviewer).order_by("pk")
    assert received == list(expected.values_list("pk", flat=True))
    assert caught[-1] == {**caught[-1], "type": "caught_up", "live": False}
