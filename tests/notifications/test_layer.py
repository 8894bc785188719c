"""The pub/sub layer that reads Redis without a timer per message (notifications.layer) still
delivers, and delivers again once a Redis that went away is back: its receiving loop
reconnects and subscribes again, as channels_redis's own does."""

import asyncio
import contextlib

from channels_redis.pubsub import RedisPubSubLoopLayer
from redis.exceptions import ConnectionError as RedisConnectionError

from notifications.layer import PubSubLayer, _Shard
from tests.support import redis_server


def test_it_is_channels_redis_pubsub_layer_with_its_own_receiving_loop():
    layer = PubSubLayer(hosts=["redis://127.0.0.1:1/0"])

    async def loop_layer():
        return layer._get_layer()

    inner = asyncio.run(loop_layer())
    assert isinstance(inner, RedisPubSubLoopLayer)
    assert [type(shard) for shard in inner._shards] == [_Shard]
    assert inner._shards[0].host == {"address": "redis://127.0.0.1:1/0", "protocol": 2}


def test_a_group_member_receives_and_receives_again_after_redis_restarts():
    with redis_server() as redis:
        layer = PubSubLayer(hosts=[redis.url])

        async def received(channel: str, message: dict) -> dict:
            # Until the subscription is back, a publish reaches nobody: publish again. The
            # receive is never cancelled, as the layer forgets a channel whose receive is.
            waiting = asyncio.ensure_future(layer.receive(channel))
            for _ in range(50):
                # The publishing connection goes stale with the restart: a lost push.
                with contextlib.suppress(RedisConnectionError):
                    await layer.group_send("user.7", message)
                done, _ = await asyncio.wait({waiting}, timeout=0.2)
                if done:
                    return waiting.result()
            raise AssertionError("rien reçu")

        async def scenario() -> list[dict]:
            channel = await layer.new_channel()
            await layer.group_add("user.7", channel)
            before = await received(channel, {"type": "notification.new", "seq": 1})
            redis.stop()
            await asyncio.sleep(0.5)
            redis.start()
            after = await received(channel, {"type": "notification.new", "seq": 2})
            await layer.flush()
            return [before, after]

        before, after = asyncio.run(scenario())
    assert before == {"type": "notification.new", "seq": 1}
    assert after == {"type": "notification.new", "seq": 2}
