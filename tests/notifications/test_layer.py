"""The pub/sub layer that reads Redis without a timer per message (notifications.layer) still
delivers, and delivers again once a Redis that went away is back: its receiving loop
reconnects and subscribes again, as channels_redis's own does."""

import ast
import asyncio
import contextlib
import inspect
import textwrap
import uuid

import pytest
from channels.consumer import AsyncConsumer
from channels.sessions import InstanceSessionWrapper
from channels_redis import utils
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from redis.exceptions import ConnectionError as RedisConnectionError

from config.settings import channel_layers_config
from notifications.consumers import NotificationConsumer, SerialInbox
from notifications.layer import PubSubLayer, _LoopLayer, _Shard
from tests.support import redis_server


def test_it_is_channels_redis_pubsub_layer_with_its_own_receiving_loop():
    layer = PubSubLayer(hosts=["redis://127.0.0.1:1/0"])

    async def loop_layer():
        return layer._get_layer()

    inner = asyncio.run(loop_layer())
    assert isinstance(inner, RedisPubSubLoopLayer)
    assert [type(shard) for shard in inner._shards] == [_Shard]
    assert inner._shards[0].host == {"address": "redis://127.0.0.1:1/0", "protocol": 2}


def parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def self_attributes(function, context: type[ast.expr_context]) -> set[str]:
    """The ``self.<name>`` a method sets (ast.Store) or reads (ast.Load), from its source."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, context)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    }


# The library's private (or internal) methods overridden here, each beside its override: the
# same parameters, or the override is no longer called as it was written to be.
OVERRIDES = [
    (RedisSingleShardConnection._receive_message, _Shard._receive_message),
    (RedisSingleShardConnection._do_receiving, _Shard._do_receiving),
    (RedisSingleShardConnection.subscribe, _Shard.subscribe),
    (RedisPubSubChannelLayer._get_layer, PubSubLayer._get_layer),
    (AsyncConsumer.__call__, SerialInbox.__call__),
    (AsyncConsumer.dispatch, NotificationConsumer.dispatch),
]


@pytest.mark.parametrize(
    ("parent", "override"), OVERRIDES, ids=[o.__qualname__ for _, o in OVERRIDES]
)
def test_each_overridden_library_method_keeps_its_shape(parent, override):
    assert parameters(parent) == parameters(override)
    assert inspect.iscoroutinefunction(parent) == inspect.iscoroutinefunction(override)


def test_the_library_internals_the_overrides_rely_on_are_still_there():
    # What the constructors are called with, and the private state the overrides use.
    assert parameters(RedisSingleShardConnection.__init__) == ["self", "host", "channel_layer"]
    assert {"host", "channel_layer", "_pubsub"} <= self_attributes(
        RedisSingleShardConnection.__init__, ast.Store
    )
    # _do_receiving is a copy: the parent's still reads its messages as the copy does.
    assert self_attributes(RedisSingleShardConnection._do_receiving, ast.Load) == {
        "_pubsub",
        "_receive_message",
    }
    assert {"hosts", "prefix", "channel_layer", "kwargs"} <= set(
        parameters(RedisPubSubLoopLayer.__init__)
    )
    assert {"prefix", "channels", "groups", "_shards"} <= self_attributes(
        RedisPubSubLoopLayer.__init__, ast.Store
    )
    assert {"_args", "_kwargs", "_layers"} <= self_attributes(
        RedisPubSubChannelLayer.__init__, ast.Store
    )
    assert parameters(utils._wrap_close) == ["proxy", "loop"]
    assert parameters(utils.decode_hosts) == ["hosts"]
    assert issubclass(_LoopLayer, RedisPubSubLoopLayer)
    # SerialInbox.__call__ sets what Channels' own does, but for the partial it no longer uses.
    assert self_attributes(AsyncConsumer.__call__, ast.Store) == {
        "scope",
        "channel_layer",
        "channel_name",
        "channel_receive",
        "base_send",
    }
    assert self_attributes(SerialInbox.__call__, ast.Store) == {
        "scope",
        "channel_layer",
        "channel_name",
        "base_send",
    }
    # config.asgi.WebSocketSessionMiddleware builds the session as Channels' middleware does.
    assert parameters(InstanceSessionWrapper.__init__) == ["self", "scope", "send"]
    assert inspect.iscoroutinefunction(InstanceSessionWrapper.resolve_session)
    assert "scope" in self_attributes(InstanceSessionWrapper.__init__, ast.Store)


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


def test_an_idle_core_layer_consumer_still_receives_a_group_message(monkeypatch):
    """channels_redis's core layer blocks in BZPOPMIN for brpop_timeout (5 s) per receive;
    redis-py 8's default socket timeout is 5 s too, so an idle consumer's read timed out
    (redis.exceptions.TimeoutError) before Redis answered that nothing came."""
    monkeypatch.setenv("REDIS_CHANNEL_LAYER", "core")
    config = channel_layers_config()["default"]
    assert config["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    layer = RedisChannelLayer(**config["CONFIG"])
    group = f"idle.{uuid.uuid4().hex}"

    async def scenario() -> dict:
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        waiting = asyncio.ensure_future(layer.receive(channel))
        # Idle for longer than one BZPOPMIN: the receive has gone round at least once.
        done, _ = await asyncio.wait({waiting}, timeout=RedisChannelLayer.brpop_timeout + 2)
        if done:
            waiting.result()  # the error the idle receive ended with, if any
            raise AssertionError("reçu sans envoi")
        await layer.group_send(group, {"type": "bench.ping", "round": 1})
        message = await asyncio.wait_for(waiting, 5)
        await layer.group_discard(group, channel)
        await layer.flush()
        return message

    assert asyncio.run(scenario()) == {"type": "bench.ping", "round": 1}
