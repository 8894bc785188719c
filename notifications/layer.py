"""channels_redis's pub/sub layer, reading Redis without a timer per message.

Its receiving loop asks redis-py for each message with a 0.1 s timeout, which arms and
cancels an event-loop timer every time; measured with bench/notify_latency.py, that was about
a seventh of the server's CPU per notification. Here the loop waits without a timeout, which
redis-py supports (``get_message(timeout=None)``). Nothing else changes: the same Redis
channels, messages, subscriptions and reconnection. Written against channels_redis 4.3.0
(pinned in uv.lock); tests/notifications/test_layer.py holds it to that version's shape.
"""

import asyncio
import logging

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


class _Shard(RedisSingleShardConnection):
    async def _do_receiving(self):
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
        self._shards = [_Shard({**host, **RESP2}, self) for host in decode_hosts(hosts)]


class PubSubLayer(RedisPubSubChannelLayer):
    def _get_layer(self):
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
            return layer
