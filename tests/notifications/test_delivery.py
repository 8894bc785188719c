"""The batched push gives each group member what a group_send would have, through the real
Redis; the migration that numbers notifications loses none of those already there."""

import asyncio
import os
import time

import pytest
from channels.layers import channel_layers, get_channel_layer
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from redis import Redis

from cases.kernel import services
from notifications import delivery
from notifications.layer import group_channel
from notifications.models import Notification
from tests import factories


def test_the_group_channel_name_is_the_layers_own():
    layer = get_channel_layer()
    assert type(layer).__name__ == "PubSubLayer"

    async def name() -> str:
        return layer._get_layer()._get_group_channel_name("user.42")

    assert group_channel(layer._prefix, "user.42") == asyncio.run(name())
    channel_layers.backends.clear()


def subscribed(redis_channel: str, timeout: float = 5.0) -> None:
    """Redis has taken the subscription (sent on another connection than the publish)."""
    client = Redis.from_url(os.environ["REDIS_URL"])
    deadline = time.monotonic() + timeout
    while dict(client.pubsub_numsub(redis_channel)).get(redis_channel.encode(), 0) < 1:
        if time.monotonic() > deadline:
            raise AssertionError("abonnement Redis absent")
        time.sleep(0.02)


def test_one_batched_push_gives_each_group_member_its_own_message_and_no_other():
    layer = get_channel_layer()
    first, second = {"seq": 7, "text": "pour 42"}, {"seq": 3, "text": "pour 43"}

    async def scenario():
        mine, other, watching = [await layer.new_channel() for _ in range(3)]
        await layer.group_add("user.42", mine)
        await layer.group_add("user.43", other)
        await layer.group_add("case.99", watching)
        await asyncio.to_thread(subscribed, layer.batch_channel)
        # user.44 has no member here: its message is dropped, as a group_send's would be.
        frames = [(42, first), (43, second), (44, {"seq": 1, "text": "pour 44"})]
        await asyncio.to_thread(delivery.push, frames, 99)
        received = [
            await asyncio.wait_for(layer.receive(channel), 5) for channel in (mine, other, watching)
        ]
        for channel in (mine, other, watching):
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(asyncio.shield(layer.receive(channel)), 0.2)
        return received

    assert asyncio.run(scenario()) == [
        {"type": "notification.new", **first},
        {"type": "notification.new", **second},
        {"type": "case.changed", "case": 99},
    ]
    channel_layers.backends.clear()


@pytest.mark.django_db(transaction=True)
def test_the_numbering_migration_numbers_what_is_there_per_recipient(reference_data):
    author, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    other = factories.region_reviewer("84")
    for _ in range(2):
        contract = factories.contract_in_state("draft", author=author)
        services.case_submit(case=contract, actor=author)
    before = list(Notification.objects.order_by("pk").values_list("pk", "recipient_id"))
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([("notifications", "0001_initial")])
        executor.loader.build_graph()
        executor.migrate([("notifications", "0002_per_recipient_numbers")])
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes("notifications"))
    rows = Notification.objects.order_by("pk").values_list("pk", "recipient_id", "seq")
    assert [(pk, user) for pk, user, _ in rows] == before
    assert [seq for _, user, seq in rows if user == reviewer.pk] == [1, 2]
    assert [seq for _, user, seq in rows if user == other.pk] == [1, 2]
    # The next one continues from there.
    services.case_submit(case=factories.contract_in_state("draft", author=author), actor=author)
    assert Notification.objects.filter(recipient=reviewer).latest("pk").seq == 3
