"""What happens after commit: the push over the channel layer (a nudge), and the e-mails."""

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)
PARALLEL_SENDS = 50


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def case_group(case_id: int) -> str:
    return f"case.{case_id}"


def push(pairs: list[tuple[int, int]], case_id: int) -> None:
    """Nudge each recipient, then everyone watching the case. A lost nudge loses nothing:
    clients fetch the rows after their last id."""
    async_to_sync(_send)(pairs, case_id)


async def _send(pairs: list[tuple[int, int]], case_id: int) -> None:
    layer = get_channel_layer()
    # Sent side by side: one after the other, a thousand recipients wait a thousand round
    # trips to Redis. The bound keeps a burst from opening too many connections.
    gate = asyncio.Semaphore(PARALLEL_SENDS)

    async def send(group: str, message: dict) -> None:
        async with gate:
            await layer.group_send(group, message)

    await asyncio.gather(
        *(
            send(user_group(user_id), {"type": "notification.new", "id": notification_id})
            for notification_id, user_id in pairs
        ),
        send(case_group(case_id), {"type": "case.changed", "case": case_id}),
    )


def enqueue_emails(notification_ids: list[int]) -> None:
    from notifications.emails import enqueue_instant

    enqueue_instant(notification_ids)
