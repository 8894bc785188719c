"""What happens after commit: the push over the channel layer."""

import asyncio
import functools
import json
import logging
from collections.abc import Collection, Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from redis import Redis

logger = logging.getLogger(__name__)
PARALLEL_SENDS = 50
PUBSUB_LAYER = "notifications.layer.PubSubLayer"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def case_group(case_id: int) -> str:
    return f"case.{case_id}"


def frame_of(notification: dict) -> dict:
    """What the consumer needs to send a notification: its number, and its WebSocket text."""
    text = json.dumps({"type": "notification", "notification": notification})
    return {"seq": notification["seq"], "text": text}


def case_changed(case_id: int, private: bool = False) -> dict:
    """The nudge to the case's watchers. A private event (an internal note, an opinion, a
    private document) says so: each socket forwards it only if its user may read it."""
    message: dict = {"type": "case.changed", "case": case_id}
    if private:
        message["private"] = True
    return message


def push(
    frames: list[tuple[int, dict]],
    case_ids: int | Iterable[int],
    *,
    private: bool | Collection[int] = False,
) -> None:
    """Send each recipient their notification, then tell everyone watching the case, or each
    of the cases (a wave's validation: all in the same publish). ``private`` is True when the
    event is private, or the ids of the cases whose nudge is. A lost push loses nothing: the
    client sees the gap in its numbers and reads the rows."""
    sends: list[tuple[str, dict]] = [
        (user_group(user_id), {"type": "notification.new", **frame}) for user_id, frame in frames
    ]
    cases = [case_ids] if isinstance(case_ids, int) else list(case_ids)
    for case_id in cases:
        hidden = private if isinstance(private, bool) else case_id in private
        sends.append((case_group(case_id), case_changed(case_id, hidden)))
    client = _pubsub_client()
    if client is None:
        async_to_sync(_send_one_by_one)(sends)
    else:
        # All the pushes as one Redis message, which each process serving sockets reads once
        # (notifications.layer). Measured by bench/notify_latency.py: a thousand group_send
        # calls, one round trip each, took about 370 ms.
        layer = get_channel_layer()
        client.publish(layer.batch_channel, layer.batch(sends))


def _pubsub_client() -> Redis | None:
    """A Redis client for the pub/sub layer on a single host; None for any other layer."""
    config = settings.CHANNEL_LAYERS["default"]
    hosts = config.get("CONFIG", {}).get("hosts", [])
    if config["BACKEND"] != PUBSUB_LAYER or len(hosts) != 1 or not isinstance(hosts[0], str):
        return None
    return _client_for(hosts[0])


@functools.cache
def _client_for(url: str) -> Redis:
    # Short timeouts: a Redis that hangs must not hold the request that committed.
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


async def _send_one_by_one(sends: list[tuple[str, dict]]) -> None:
    layer = get_channel_layer()
    # Side by side: one after the other, a thousand recipients wait a thousand round trips.
    # The bound keeps a burst from opening too many connections.
    gate = asyncio.Semaphore(PARALLEL_SENDS)

    async def send(group: str, message: dict) -> None:
        async with gate:
            await layer.group_send(group, message)

    await asyncio.gather(*(send(group, message) for group, message in sends))
