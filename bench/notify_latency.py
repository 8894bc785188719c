"""From a transition's commit to its receipt by every WebSocket client, against the raw
channel-layer fan-out, for both Redis channel layers, with 100 then 1,000 clients.

uvicorn serves the app on PostgreSQL and Redis; each client is a different ministry agent
told of the same Region approval. Goals: at 100 clients p99 ≤ 3 × the raw fan-out p99; at
1,000 clients p99 ≤ 250 ms; nothing lost. Reproduce with: make bench
"""

import asyncio
import json
import os
import statistics
import sys
import time

from bench._setup import setup_django

SIZES = (100, 1000)
LAYERS = ("core", "pubsub")
TIMEOUT = 30.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(name: str, latencies: list[float], expected: int) -> str:
    ms = [value * 1000 for value in latencies]
    lost = expected - len(latencies)
    if not ms:
        return f"{name:<34} aucun reçu, perdus {lost}"
    return (
        f"{name:<34} p50 {statistics.median(ms):7.1f} ms  p99 {percentile(ms, 0.99):7.1f} ms  "
        f"max {max(ms):7.1f} ms  perdus {lost}"
    )


async def raw_fanout(size: int) -> list[float]:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    channels = [await layer.new_channel() for _ in range(size)]
    for channel in channels:
        await layer.group_add("bench.raw", channel)
    await asyncio.sleep(0.2)
    start = time.perf_counter()
    await layer.group_send("bench.raw", {"type": "bench.ping"})

    async def receive(channel):
        await asyncio.wait_for(layer.receive(channel), TIMEOUT)
        return time.perf_counter() - start

    results = await asyncio.gather(*(receive(c) for c in channels), return_exceptions=True)
    for channel in channels:
        await layer.group_discard("bench.raw", channel)
    return [value for value in results if isinstance(value, float)]


def sessions_for(users) -> list[str]:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    keys = []
    for user in users:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        keys.append(store.session_key)
    return keys


async def through_the_app(server: str, keys: list[str], act, last_id: int) -> list[float]:
    import websockets
    from asgiref.sync import sync_to_async

    url = server.replace("http://", "ws://") + "/ws/notifications/"
    sockets = []
    for key in keys:
        socket = await websockets.connect(
            url,
            additional_headers={"Cookie": f"sessionid={key}", "Origin": server},
            max_queue=None,
        )
        await socket.send(json.dumps({"type": "hello", "last_id": last_id}))
        sockets.append(socket)
    for socket in sockets:
        while json.loads(await socket.recv())["type"] != "caught_up":
            pass
    committed = {}

    async def receive(socket):
        while True:
            message = json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))
            if message["type"] == "notification":
                return time.perf_counter()

    waiting = [asyncio.ensure_future(receive(socket)) for socket in sockets]
    await sync_to_async(act, thread_sensitive=False)(committed)
    results = await asyncio.gather(*waiting, return_exceptions=True)
    for socket in sockets:
        await socket.close()
    return [value - committed["at"] for value in results if isinstance(value, float)]


def main() -> int:
    setup_django("bench_notify")
    from django.conf import settings
    from django.db import connection, connections, transaction
    from django.db.models import Max

    from cases import services
    from notifications.models import Notification
    from tests import factories
    from tests.support import uvicorn_server

    reviewer = factories.region_reviewer("84")
    ministry = [factories.ministry_agent() for _ in range(max(SIZES))]
    keys = sessions_for(ministry)
    print(f"{len(ministry)} agents du ministère, une session chacun", flush=True)

    def approve(committed):
        contract = factories.contract_in_state("regional_review")
        with transaction.atomic():
            # Registered first, so it runs first: the moment of the commit.
            transaction.on_commit(lambda: committed.__setitem__("at", time.perf_counter()))
            services.case_approve(case=contract, actor=reviewer)
        connections.close_all()

    redis_url = os.environ["REDIS_URL"]
    for layer in LAYERS:
        os.environ["REDIS_CHANNEL_LAYER"] = layer
        from config.settings import channel_layers_config

        settings.CHANNEL_LAYERS = channel_layers_config()
        from channels.layers import channel_layers

        channel_layers.backends.clear()
        with uvicorn_server(
            connection.settings_dict["NAME"], REDIS_URL=redis_url, REDIS_CHANNEL_LAYER=layer
        ) as server:
            for size in SIZES:
                raw = asyncio.run(raw_fanout(size))
                channel_layers.backends.clear()
                last_id = Notification.objects.aggregate(last=Max("pk"))["last"] or 0
                app = asyncio.run(through_the_app(server, keys[:size], approve, last_id))
                channel_layers.backends.clear()
                print(summary(f"[{layer}] {size} clients, fan-out brut", raw, size))
                print(summary(f"[{layer}] {size} clients, application", app, size))
                if raw and app:
                    ratio = percentile(app, 0.99) / percentile(raw, 0.99)
                    print(f"[{layer}] {size} clients : p99 application / p99 brut = {ratio:.1f}")
                print(flush=True)
    print("commande : make bench")
    return 0


if __name__ == "__main__":
    sys.exit(main())
