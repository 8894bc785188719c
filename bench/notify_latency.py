"""From a transition's commit to its receipt by every WebSocket client, against the raw
channel-layer fan-out, for both Redis channel layers, with 100 then 1,000 clients.

uvicorn serves the app on PostgreSQL and Redis, with as many workers as docker-compose runs;
each client is a different ministry agent, all told of the same Region approval, several
times over. Goals: at 100 clients p99 ≤ 3 × the raw fan-out p99; at 1,000 clients
p99 ≤ 250 ms; nothing lost. Reproduce with: make bench
(BENCH_SIZES=100 BENCH_LAYERS=pubsub narrow a run down while investigating.)

Each message says which round it belongs to: the raw fan-out's carries its round number, the
application's names the case approved in that round (one case per round). A latency is counted
only for a message of the current round; one of an earlier round, which came after its round's
TIMEOUT, is lost for its round and shown apart as late ("tardifs"), never timed against a later
commit (that once printed a minimum of −31,781 ms). uvicorn is waited on until it answers, with
tests.support's generous readiness budget (TEST_READINESS_SECONDS).
"""

import asyncio
import contextlib
import gc
import json
import logging
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

# The clients run on the event loop the server runs on, so that the measuring side costs as
# little as the measured one; the raw fan-out runs on it too.
import uvloop

from bench._setup import setup_django

SIZES = tuple(int(n) for n in os.environ.get("BENCH_SIZES", "100,1000").split(","))
LAYERS = tuple(os.environ.get("BENCH_LAYERS", "core,pubsub").split(","))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
# As docker-compose runs it (WEB_WORKERS in the Dockerfile).
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
TIMEOUT = 30.0
# One transition first, not counted: the actor's process opens its connections to PostgreSQL
# and Redis then, as a web worker does once, not on every request.
WARMUP = 1


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Tally:
    """What came in over the rounds: the latencies of the messages received in their own
    round, and the count of those received in a later one (late) or twice."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.late = 0
        self.twice = 0

    def add(self, latency: float) -> None:
        if latency < 0:
            # A message of this round cannot come before the commit that sent it.
            raise RuntimeError(f"latence négative ({latency * 1000:.1f} ms) : mesure faussée")
        self.latencies.append(latency)


def summary(name: str, tally: Tally, expected: int) -> str:
    ms = [value * 1000 for value in tally.latencies]
    lost = expected - len(ms)
    others = f"perdus {lost}  tardifs {tally.late}"
    if tally.twice:
        others += f"  en double {tally.twice}"
    if not ms:
        return f"{name:<34} aucun reçu, {others}"
    return (
        f"{name:<34} min {min(ms):6.1f} ms  p50 {statistics.median(ms):7.1f} ms  "
        f"p99 {percentile(ms, 0.99):7.1f} ms  "
        f"max {max(ms):7.1f} ms  {others}"
    )


async def own_round(
    messages: asyncio.Queue, tag, current, earlier: set, seen: set, tally: Tally
) -> float:
    """The moment this round's message was received, from one recipient's queue of
    (moment, message); those of an earlier round met on the way are counted late. ``tag``
    says a message's round (None for a message that is not timed), ``seen`` the rounds this
    recipient has had."""
    while True:
        at, message = await messages.get()
        round_tag = tag(message)
        if round_tag is None:
            continue
        if round_tag in seen:
            tally.twice += 1
        elif round_tag == current:
            seen.add(round_tag)
            return at
        elif round_tag in earlier:
            seen.add(round_tag)
            tally.late += 1


async def rounds_within_timeout(waiting: list) -> list[float]:
    done, pending = await asyncio.wait(waiting, timeout=TIMEOUT)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return [task.result() for task in done if not task.exception()]


def drain(queues, tag, earlier: set, seens: list[set], tally: Tally) -> None:
    """After the last round: what is left in the queues came late, or twice."""
    for messages, seen in zip(queues, seens, strict=True):
        while not messages.empty():
            round_tag = tag(messages.get_nowait()[1])
            if round_tag in seen:
                tally.twice += 1
            elif round_tag in earlier:
                seen.add(round_tag)
                tally.late += 1


async def raw_fanout(size: int) -> Tally:
    """One group_send to a group of ``size`` channels, received by each: ROUNDS times."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    channels = [await layer.new_channel() for _ in range(size)]
    for channel in channels:
        await layer.group_add("bench.raw", channel)
    # One reader per channel for all the rounds, as a consumer has: a round that gives up on a
    # channel does not cancel its receive, which the pub/sub layer takes for the channel's end.
    queues: list[asyncio.Queue] = [asyncio.Queue() for _ in channels]

    async def read(channel, messages):
        while True:
            message = await layer.receive(channel)
            messages.put_nowait((time.perf_counter(), message))

    readers = [asyncio.ensure_future(read(c, q)) for c, q in zip(channels, queues, strict=True)]
    await asyncio.sleep(0.2)

    def tag(message):
        return message.get("round")

    tally, earlier = Tally(), set()
    seens: list[set] = [set() for _ in channels]
    for round_number in range(ROUNDS):
        waiting = [
            asyncio.ensure_future(own_round(q, tag, round_number, earlier, seen, tally))
            for q, seen in zip(queues, seens, strict=True)
        ]
        start = time.perf_counter()
        await layer.group_send("bench.raw", {"type": "bench.ping", "round": round_number})
        for at in await rounds_within_timeout(waiting):
            tally.add(at - start)
        earlier.add(round_number)
    drain(queues, tag, earlier, seens, tally)
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    for channel in channels:
        await layer.group_discard("bench.raw", channel)
    return tally


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


OP_TEXT, OP_PING = 0x1, 0x9


class Client(asyncio.Protocol):
    """A WebSocket client on the websockets library's sans-I/O protocol: a message received
    goes straight into a queue, as a raw fan-out's does. The library's full asyncio client
    costs several times what the server spends per message, which would be counted as the
    application's latency (and is not in the raw fan-out's).

    Once open, the frames the server sends are read here: whole and unmasked, as RFC 6455
    requires of a server and as uvicorn sends them. The library's parser cost about 10 µs a
    frame, in the one process that reads every socket; the library still does the handshake,
    what the client sends, and the answer to a ping."""

    def __init__(self, url: str, headers: dict):
        from websockets.client import ClientProtocol
        from websockets.uri import parse_uri

        self.protocol = ClientProtocol(parse_uri(url))
        self.request = self.protocol.connect()
        for name, value in headers.items():
            self.request.headers[name] = value
        self.messages: asyncio.Queue = asyncio.Queue()
        self.open = asyncio.get_running_loop().create_future()
        self.frames: bytearray | None = None  # once the handshake is done

    def connection_made(self, transport):
        self.transport = transport
        self.protocol.send_request(self.request)
        self.flush()

    def data_received(self, data: bytes):
        from websockets.http11 import Response

        if self.frames is not None:
            self.frames += data
            self.read_frames()
            return
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Response):
                self.open.set_result(event.status_code == 101)
                # The server says nothing before the client's hello: no frame comes with it.
                self.frames = bytearray()

    def read_frames(self):
        frames = self.frames
        while len(frames) >= 2:
            length, start = frames[1] & 0x7F, 2
            if length >= 126:
                start = 4 if length == 126 else 10
                if len(frames) < start:
                    return
                length = int.from_bytes(frames[2:start])
            end = start + length
            if len(frames) < end:
                return
            opcode, payload = frames[0] & 0x0F, bytes(frames[start:end])
            del frames[:end]
            if opcode == OP_TEXT:
                # Received now: what follows (the queue, the reading task) is the harness's.
                self.messages.put_nowait((time.perf_counter(), payload))
            elif opcode == OP_PING:
                self.protocol.send_pong(payload)
                self.flush()

    def flush(self):
        for data in self.protocol.data_to_send():
            if data:
                self.transport.write(data)

    def send(self, message: dict):
        self.protocol.send_text(json.dumps(message).encode())
        self.flush()

    async def recv(self) -> dict:
        return json.loads((await self.messages.get())[1])


async def connect(url: str, headers: dict) -> Client:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(
        lambda: Client(url, headers), parts.hostname, parts.port
    )
    if not await client.open:
        raise RuntimeError("connexion WebSocket refusée")
    return client


async def connect_all(server: str, clients: list[tuple[str, int]]) -> list[Client]:
    """Every client connected and caught up, standing at its last notification number."""
    url = server.replace("http://", "ws://") + "/ws/notifications/"
    sockets = []
    for key, last_seq in clients:
        socket = await connect(url, {"Cookie": f"sessionid={key}", "Origin": server})
        socket.send({"type": "hello", "last_seq": last_seq})
        sockets.append(socket)
    for socket in sockets:
        while (await socket.recv())["type"] != "caught_up":
            pass
    return sockets


def round_of(data: bytes) -> int | None:
    """A notification's round: the case it tells of, one per round."""
    message = json.loads(data)
    if message["type"] != "notification":
        return None
    return message["notification"]["case"]


async def through_the_app(
    server: str, clients: list[tuple[str, int]], cases: list[int], act
) -> Tally:
    """A transition on each of ``cases``, one per round, each told to every client: from its
    commit to each receipt. The first WARMUP rounds are not counted."""
    sockets = await connect_all(server, clients)
    # Measured in the steady state: the server first finishes with the connections' catch-up.
    await asyncio.sleep(1.0)
    queues = [socket.messages for socket in sockets]
    warmup = set(cases[:WARMUP])

    def measured_round_of(data: bytes) -> int | None:
        # A warm-up message that comes late is neither timed nor counted.
        case = round_of(data)
        return None if case in warmup else case

    tally, earlier = Tally(), set()
    seens: list[set] = [set() for _ in sockets]
    for round_number, case in enumerate(cases):
        # The measuring side's own garbage collection, with its thousand sockets, is not the
        # application's latency: what exists now is kept out of its passes.
        gc.collect()
        gc.freeze()
        if round_number < WARMUP:
            counted, tag, seen_by = Tally(), round_of, [set() for _ in sockets]
        else:
            counted, tag, seen_by = tally, measured_round_of, seens
        waiting = [
            asyncio.ensure_future(own_round(q, tag, case, earlier, seen, counted))
            for q, seen in zip(queues, seen_by, strict=True)
        ]
        committed_at = await act(case)
        for at in await rounds_within_timeout(waiting):
            counted.add(at - committed_at)
        if round_number >= WARMUP:
            earlier.add(case)
    drain(queues, measured_round_of, earlier, seens, tally)
    for socket in sockets:
        socket.transport.close()
    return tally


def start_actor() -> None:
    """The actor's own process is set up as the measuring one was (the environment is
    inherited), without creating the database again."""
    import django

    django.setup()


def approve(reviewer_pk: int, contract_pk: int) -> float:
    """A Region approval, told to every active ministry agent; returns its commit time."""
    from django.db import connections, transaction

    from accounts.models import User
    from cases.kernel import services
    from cases.models import TerritoryContract

    reviewer = User.objects.get(pk=reviewer_pk)
    contract = TerritoryContract.objects.get(pk=contract_pk)
    committed: list[float] = []
    with transaction.atomic():
        # Registered first, so it runs first, before the push: the moment of the commit.
        transaction.on_commit(lambda: committed.append(time.perf_counter()))
        services.case_approve(case=contract, actor=reviewer)
    connections.close_all()
    return committed[0]


@contextlib.contextmanager
def actor_process() -> Iterator[ProcessPoolExecutor]:
    """The transitions are made in a process of their own, as a request is served by a web
    worker and not by the browsers. Made on a thread of the clients' process, the actor and the
    clients took turns on the interpreter lock: the push alone took 3 to 12 ms there, against
    1.5 to 4 ms in a process of its own, and the clients read their sockets late, all counted
    as the application's latency. perf_counter is the system's monotonic clock, the same in
    both processes."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, initializer=start_actor) as actor:
        yield actor


def use_layer(layer: str) -> None:
    from channels.layers import channel_layers
    from django.conf import settings

    os.environ["REDIS_CHANNEL_LAYER"] = layer
    from config.settings import channel_layers_config

    settings.CHANNEL_LAYERS = channel_layers_config()
    channel_layers.backends.clear()


def measure(server: str, layer: str, size: int, ministry, keys, cases: list[int], act) -> None:
    from channels.layers import channel_layers

    from accounts.models import User
    from notifications.models import NotificationSequence

    # Exactly ``size`` ministry agents are told: the others are set inactive.
    User.objects.filter(pk__in=[u.pk for u in ministry[:size]]).update(is_active=True)
    User.objects.filter(pk__in=[u.pk for u in ministry[size:]]).update(is_active=False)
    raw = asyncio.run(raw_fanout(size), loop_factory=uvloop.new_event_loop)
    channel_layers.backends.clear()
    numbers = dict(NotificationSequence.objects.values_list("user_id", "last_seq"))
    clients = [(key, numbers.get(user.pk, 0)) for key, user in zip(keys, ministry, strict=True)]
    clients = clients[:size]
    app = asyncio.run(
        through_the_app(server, clients, cases, act), loop_factory=uvloop.new_event_loop
    )
    channel_layers.backends.clear()
    expected = size * ROUNDS
    print(summary(f"[{layer}] {size} clients, fan-out brut", raw, expected))
    print(summary(f"[{layer}] {size} clients, application", app, expected))
    if raw.latencies and app.latencies:
        ratio = percentile(app.latencies, 0.99) / percentile(raw.latencies, 0.99)
        print(f"[{layer}] {size} clients : p99 application / p99 brut = {ratio:.1f}")
    print(flush=True)


def main() -> int:
    setup_django("bench_notify")
    # The readiness probe's requests are not the bench's output.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from django.db import connection

    from tests import factories
    from tests.support import readiness_budget, uvicorn_server

    reviewer = factories.region_reviewer("84")
    ministry = [factories.ministry_agent() for _ in range(max(SIZES))]
    keys = sessions_for(ministry)
    print(
        f"{len(ministry)} agents du ministère, une session chacun ; {ROUNDS} transitions par "
        f"mesure ; uvicorn avec {WORKERS} processus",
        flush=True,
    )
    for layer in LAYERS:
        use_layer(layer)
        # Waited on until it answers HTTP (a refused connection is retried, not raised), within
        # the tests' generous budget: on a loaded machine uvicorn's workers took 15 to 20 s.
        server = uvicorn_server(
            connection.settings_dict["NAME"],
            timeout=readiness_budget(),
            workers=WORKERS,
            REDIS_URL=os.environ["REDIS_URL"],
            REDIS_CHANNEL_LAYER=layer,
        )
        # Started once the layer is chosen: the actor reads it from the environment.
        with server as url, actor_process() as actor:
            for size in SIZES:
                # Made here, before the rounds: only the approval is the actor's. One case per
                # round, so that each notification says its round.
                cases = [
                    factories.contract_in_state("regional_review").pk
                    for _ in range(WARMUP + ROUNDS)
                ]

                def act(case: int, actor=actor) -> asyncio.Future:
                    submitted = actor.submit(approve, reviewer.pk, case)
                    return asyncio.wrap_future(submitted)

                measure(url, layer, size, ministry, keys, cases, act)
    print("commande : make bench  (ou, pour ce seul banc : ")
    print("  .venv/bin/python scripts/with_services.py .venv/bin/python -m bench.notify_latency)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
