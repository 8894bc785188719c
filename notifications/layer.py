"""channels_redis's pub/sub layer, made cheaper for the pushes of notifications.

Each step was measured with bench/notify_latency.py, as the server's CPU per notification:
- its receiving loop asked redis-py for each message with a 0.1 s timeout, which arms and
  cancels an event-loop timer every time (about a seventh of the CPU); here the loop waits
  without a timeout, which redis-py supports (``get_message(timeout=None)``);
- it reads Redis in RESP2 (see RESP2 below);
- the group sends of one event can travel as one Redis message, a batch: every process that
  serves sockets reads it once and hands each message to its own members of each group, where
  one Redis message per group cost each process a read per recipient.
Groups, their Redis channels, single messages, subscriptions and reconnection are channels_
redis's own. Written against channels_redis 4.3.0 (pinned in uv.lock); tests/notifications/
test_layer.py holds it to that version's shape: the private names overridden here and their
signatures, and what the parents' methods set and read. Each override says what it gains.
"""

import asyncio
import logging

import msgpack
from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _wrap_close, decode_hosts

logger = logging.getLogger(__name__)
IDLE_SECONDS = 0.1
# redis-py 8 speaks RESP3 by default, where each pub/sub message comes as a "push" that redis-py
# logs at debug level, formatting the whole message first even when the level is off. In RESP2
# the same message is a plain reply.
RESP2 = {"protocol": 2}
RETRY_SECONDS = 1.0
BATCH_CHANNEL = "__batch__"


def batch_channel(prefix: str) -> str:
    return f"{prefix}{BATCH_CHANNEL}"


def group_channel(prefix: str, group: str) -> str:
    # As channels_redis.pubsub names a group's Redis channel (RedisPubSubLoopLayer.
    # _get_group_channel_name); a test holds the two together.
    return f"{prefix}__group__{group}"


class _Shard(RedisSingleShardConnection):
    # Overrides: subscribe and _receive_message carry the batches (one Redis message per event
    # instead of one per group, read once by each process); _do_receiving drops the timer per
    # message (about a seventh of the server's CPU per notification).
    async def subscribe(self, channel):
        await super().subscribe(channel)
        # A process that has a channel may have group members: it reads the batches too.
        await super().subscribe(self.channel_layer.batch_channel)

    def _receive_message(self, message):
        # Private in channels_redis. Gains the batch: with one Redis message per group, every
        # socket-serving process read and parsed a message per recipient; now one per event.
        # Its commit (b94ff00) kept no figure of its own for this step.
        if message is not None and message["channel"] in self.channel_layer.batch_names:
            self._deliver_batch(message["data"])
        else:
            super()._receive_message(message)

    def _deliver_batch(self, data: bytes) -> None:
        channels, groups = self.channel_layer.channels, self.channel_layer.groups
        for name, payload in msgpack.unpackb(data):
            for channel in groups.get(name, ()):
                if channel in channels:
                    channels[channel].put_nowait(payload)

    async def _do_receiving(self):
        # Private in channels_redis, copied but for the timeout: its get_message(timeout=0.1)
        # armed and cancelled an event-loop timer per message, about a seventh of the server's
        # CPU per notification (bench/notify_latency.py: with the session wrapper of
        # config/asgi.py, 0.123 -> about 0.09 ms).
        while True:
            try:
                if self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=None
                    )
                    self._receive_message(message)
                else:
                    await asyncio.sleep(IDLE_SECONDS)
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except Exception:
                # As channels_redis does: Redis gone, the loop waits and redis-py reconnects
                # and subscribes again on the next read.
                logger.exception("Réception Redis interrompue ; nouvel essai")
                await asyncio.sleep(RETRY_SECONDS)


class _LoopLayer(RedisPubSubLoopLayer):
    def __init__(self, hosts=None, **kwargs):
        super().__init__(hosts, **kwargs)
        # _shards is private: replaced to install _Shard and RESP2, which alone took the
        # server's CPU per notification from about 0.09 to 0.08 ms (bench/notify_latency.py).
        self._shards = [_Shard({**host, **RESP2}, self) for host in decode_hosts(hosts)]
        self.batch_channel = batch_channel(self.prefix)
        # redis-py gives the channel name as bytes.
        self.batch_names = {self.batch_channel, self.batch_channel.encode()}


class PubSubLayer(RedisPubSubChannelLayer):
    @property
    def _prefix(self) -> str:
        # The loop layer's own default, read here without an event loop.
        return self._kwargs.get("prefix", "asgi")

    @property
    def batch_channel(self) -> str:
        return batch_channel(self._prefix)

    def batch(self, sends: list[tuple[str, dict]]) -> bytes:
        """Group sends as one Redis message for ``batch_channel``: each message as group_send
        would write it, beside its group's Redis channel."""
        return msgpack.packb(
            [
                [group_channel(self._prefix, group), self.serialize(message)]
                for group, message in sends
            ]
        )

    def _get_layer(self):
        # Private in channels_redis, as it is but for the class: the only way in for
        # _LoopLayer, hence for the gains above; it gains nothing by itself.
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
            return layer
