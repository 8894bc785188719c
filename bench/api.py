"""The REST API (/api/v1/) against its own code called in-process, and a webhook's delivery
from its commit against a plain HTTP POST to the same receiver.

Three measures, each a ratio against a baseline of the same run, in interleaved rounds (the
order of the sides turns from round to round), so that the machine's noise weighs on all
alike:

1. a page of contracts, ``GET /api/v1/contracts/`` with a Region reviewer's token, through a
   real uvicorn over HTTP (httpx, one kept-alive connection), against the viewset's selector
   (``contract_list``), its cursor's ordering and page size, its serializer and its JSON
   renderer called in-process;
2. a Region approval, ``POST /api/v1/cases/<ref>/transitions/`` with ``If-Match``, against
   ``services.case_approve`` in-process;
3. a webhook ``case.transition``: from the approval's commit to its arrival at a receiver on
   loopback, through the real path (outbox row in the transaction, ``enqueue_deliveries`` on
   commit, ``manage.py run_worker`` as docker-compose runs it, with its default polling
   interval), against a plain HTTP POST of the same body to the same receiver from this
   process. Each commit falls at a random point of the worker's polling cycle. The receiver
   checks every signature (standardwebhooks); every event must arrive once, in commit order,
   then also for a burst of approvals made back to back, or the bench fails (exit code 1).

To situate the ratios, 1 and 2 also run a third side in the same rounds: the same request
through Django's test client (the whole stack, middleware, token, throttle and view, without
HTTP or ASGI), which also counts each request's SQL statements; and the least request the API
serves (a 404 under /api/v1/, token checked) over HTTP and by the test client.

The data are synthetic, made by the tests' factories (tests/factories.py) through the real
services, on the real reference data. uvicorn runs as deployed (DEBUG off, Redis cache as
docker-compose sets CACHE_URL, PostgreSQL connections not kept: CONN_MAX_AGE=0). Each token
makes fewer requests than the throttle allows (600 a minute), so that none is refused.
Reproduce with: make bench  (or, for this bench alone:
  .venv/bin/python scripts/with_services.py .venv/bin/python -m bench.api)
"""

import json
import logging
import os
import random
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench._setup import setup_django

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
PAGES = 40  # list pages per round and side
TRANSITIONS = 30  # approvals per round and side
DELIVERIES = 30  # webhooks timed one at a time
BURST = 10  # then approvals back to back, for the order under load
WARMUP = 3  # not counted: the server's first requests import and connect
ARRIVAL_TIMEOUT = 30.0
POLL_INTERVAL = 1.0  # run_worker's default --interval, in seconds
THROTTLE_BUDGET = 600  # requests a minute per token (config.settings, API_RATE)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Receiver:
    """A webhook receiver on loopback, on a thread of this process: stamps each request when
    its body is read, checks its signature, keeps what came in arrival order."""

    def __init__(self) -> None:
        self.secret = ""
        self.arrivals: list[tuple[float, str, int]] = []  # (moment, webhook-id, event id)
        self.baseline: dict[str, float] = {}  # plain POSTs, by their number
        self.refused: list[str] = []
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                at = time.perf_counter()
                headers = dict(self.headers.items())
                plain = self.headers.get("x-bench-baseline")
                status = 200
                if plain is not None:
                    with receiver.changed:
                        receiver.baseline[plain] = at
                        receiver.changed.notify_all()
                else:
                    from standardwebhooks import Webhook
                    from standardwebhooks.webhooks import WebhookVerificationError

                    try:
                        Webhook(receiver.secret).verify(body.decode(), headers)
                    except WebhookVerificationError:
                        status = 401
                        receiver.refused.append(headers.get("webhook-id", "?"))
                    else:
                        event = json.loads(body)["data"]["case"]["event"]["id"]
                        with receiver.changed:
                            receiver.arrivals.append((at, headers["webhook-id"], event))
                            receiver.changed.notify_all()
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def wait(self, ready, timeout: float = ARRIVAL_TIMEOUT) -> bool:
        with self.changed:
            return self.changed.wait_for(ready, timeout)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def transition_contracts() -> int:
    # The three sides' warm-up and rounds, then one for each statement count.
    return 3 * (WARMUP + ROUNDS * TRANSITIONS) + 2


def main() -> int:
    # Read by the settings at start-up, in this process and in the worker it starts: the
    # receiver is on loopback over plain HTTP, which only this setting lets through.
    os.environ["WEBHOOKS_ALLOW_LOOPBACK"] = "1"
    redis = os.environ.get("REDIS_URL", "")
    if redis and "CACHE_URL" not in os.environ:
        # As docker-compose: the cache (the throttle's counts) in Redis, database 1.
        os.environ["CACHE_URL"] = redis.rsplit("/", 1)[0] + "/1"
    setup_django("bench_api")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # The minimal request's 404s are expected: not the bench's output.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    from django.db import connection

    from territories.models import Territory
    from tests import factories
    from tests.support import readiness_budget, uvicorn_server

    territory = Territory.objects.get(code="8414")
    epci = territory.intercommunalities.order_by("siren").first()
    author = factories.epci_agent(epci.siren)
    reviewer = factories.region_reviewer(territory.pilot_region.code)
    started = time.perf_counter()
    needed = transition_contracts() + WARMUP + DELIVERIES + BURST
    contracts = [
        factories.contract_in_state("regional_review", author=author) for _ in range(needed)
    ]
    print(
        "Données synthétiques (fabriques des tests, tests/factories.py, par les vrais "
        f"services) : {len(contracts)} contrats en examen régional du territoire "
        f"{territory.name}, faits en {time.perf_counter() - started:.0f} s ; un instructeur "
        f"de la Région {territory.pilot_region.name} les lit et les approuve.",
        flush=True,
    )
    failures: list[str] = []
    server = uvicorn_server(
        connection.settings_dict["NAME"],
        timeout=max(60.0, readiness_budget()),
        workers=1,
        CACHE_URL=os.environ.get("CACHE_URL", ""),
    )
    with server as url:
        print(f"uvicorn prêt ({url}, 1 processus) ; {ROUNDS} séries alternées par mesure\n")
        list_measure(url, reviewer, failures)
        transitions_measure(url, reviewer, contracts, failures)
    print()
    webhook_measure(reviewer, contracts[transition_contracts() :], failures)
    print()
    print("commande : make bench  (ou, pour ce seul banc :")
    print("  .venv/bin/python scripts/with_services.py .venv/bin/python -m bench.api)")
    if failures:
        print("\nÉCHEC :", file=sys.stderr)
        for failure in failures:
            print(f"  - {failure}", file=sys.stderr)
        return 1
    return 0


def token(user, *, read_only: bool, requests: int) -> str:
    from api import tokens

    # One token per measure, kept under the throttle: a 429 would be measured as a page.
    assert requests < THROTTLE_BUDGET, requests
    _, secret = tokens.token_create(
        actor=user, name="Banc d'essai", lifetime_days=30, read_only=read_only
    )
    return secret


def statements_of(call) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        call()
    return len(queries)


def django_client(user, *, read_only: bool, requests: int):
    """Django's test client with a token of its own: the whole stack (middleware,
    authentication, throttle, view) in this process, without HTTP or ASGI."""
    from django.test import Client

    secret = token(user, read_only=read_only, requests=requests)
    return Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {secret}")


def interleaved(sides: list, count: int) -> list[float]:
    """``ROUNDS`` series of ``count`` calls of each side, the order turning each round; the
    median rate of each side. A side is a function of the round's number."""
    rates: list[list[float]] = [[] for _ in sides]
    order = list(range(len(sides)))
    for number in range(ROUNDS):
        for index in order[number % len(order) :] + order[: number % len(order)]:
            batch = sides[index](number)
            start = time.perf_counter()
            batch()
            rates[index].append(count / (time.perf_counter() - start))
    return [statistics.median(side) for side in rates]


def list_measure(url: str, reviewer, failures: list[str]) -> None:
    import httpx
    from rest_framework.renderers import JSONRenderer

    from api.pagination import UpdatedCursor
    from api.serializers import ContractSummarySerializer
    from cases.contracts import lists as contract_lists

    path, unknown = "/api/v1/contracts/", "/api/v1/inconnu/"
    budget = 2 * (WARMUP + ROUNDS * PAGES) + 4
    secret = token(reviewer, read_only=True, requests=budget)
    client = django_client(reviewer, read_only=True, requests=budget)

    def in_process() -> bytes:
        # The viewset's list without HTTP: its selector, its cursor's order and page, its
        # serializer and renderer.
        rows = contract_lists.contract_list(reviewer, None).order_by(*UpdatedCursor.ordering)
        page = list(rows[: UpdatedCursor.page_size])
        data = ContractSummarySerializer(page, many=True, context={"request": None}).data
        return JSONRenderer().render(data)

    def repeated(call):
        def batch() -> None:
            for _ in range(PAGES):
                call()

        return lambda number: batch

    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {secret}"}, timeout=30.0
    ) as http:

        def over_http(address: str = path, expected: int = 200) -> bytes:
            answer = http.get(address)
            if answer.status_code != expected:
                raise RuntimeError(f"GET {address} : HTTP {answer.status_code}")
            return answer.content

        def through_django(address: str = path, expected: int = 200) -> bytes:
            answer = client.get(address)
            if answer.status_code != expected:
                raise RuntimeError(f"GET {address} (client de test) : {answer.status_code}")
            return answer.content

        for _ in range(WARMUP):
            over_http(), in_process(), through_django()
        shown = [row["reference"] for row in json.loads(over_http())["results"]]
        computed = [row["reference"] for row in json.loads(in_process())]
        if shown != computed or len(shown) != UpdatedCursor.page_size:
            failures.append("la page de l'API n'est pas celle calculée en processus")
        api, local, django = interleaved(
            [repeated(over_http), repeated(in_process), repeated(through_django)], PAGES
        )
        # The least request the API serves with a token (a 404 under /api/v1/): what HTTP,
        # ASGI and a new PostgreSQL connection add, whatever the view does.
        over_http(unknown, 404), through_django(unknown, 404)
        tiny_http, tiny_django = interleaved(
            [
                repeated(lambda: over_http(unknown, 404)),
                repeated(lambda: through_django(unknown, 404)),
            ],
            PAGES,
        )
    statements = statements_of(through_django)
    local_statements = statements_of(in_process)

    print(f"1. Liste : GET {path} (page de {UpdatedCursor.page_size} contrats, jeton Région)")
    print(f"   par HTTP (uvicorn, httpx, connexion gardée) :  {api:7.1f} pages/s")
    print(f"   en processus (sélecteur + sérialiseur + JSON) : {local:7.1f} pages/s")
    print(f"   rapport HTTP / en processus : {api / local:.2f}  (médianes de {ROUNDS} séries)")
    print(
        f"   pour situer : la pile Django entière en processus (client de test, sans HTTP "
        f"ni ASGI) {django:.1f} pages/s ; la requête minimale (404 sous /api/v1/, jeton "
        f"compris) {1000 / tiny_http:.1f} ms par HTTP, {1000 / tiny_django:.1f} ms par le "
        "client de test"
    )
    print(
        f"   requêtes SQL : {statements} par requête API (client de test, même pile), "
        f"{local_statements} en processus"
    )


def transitions_measure(url: str, reviewer, contracts: list, failures: list[str]) -> None:
    import httpx

    from cases.kernel import services
    from cases.models import Case

    budget = WARMUP + ROUNDS * TRANSITIONS + 1
    secret = token(reviewer, read_only=False, requests=budget)
    client = django_client(reviewer, read_only=False, requests=budget)
    pool = iter(contracts)
    address = "/api/v1/cases/{}/transitions/"

    def etags(cases: list) -> list[tuple[str, str]]:
        # Read before the clock starts: a client has them from its last read.
        versions = dict(
            Case.objects.filter(pk__in=[c.pk for c in cases]).values_list("pk", "version")
        )
        return [(c.reference, f'"{c.pk}.{versions[c.pk]}"') for c in cases]

    def in_process(count: int):
        cases = [next(pool) for _ in range(count)]

        def batch() -> None:
            for case in cases:
                services.case_approve(case=case, actor=reviewer)

        return batch

    def through_django(count: int):
        targets = etags([next(pool) for _ in range(count)])

        def batch() -> None:
            for reference, etag in targets:
                answer = client.post(
                    address.format(reference),
                    {"name": "approve"},
                    content_type="application/json",
                    HTTP_IF_MATCH=etag,
                )
                if answer.status_code != 200:
                    raise RuntimeError(f"transition {reference} (client de test) : {answer}")

        return batch

    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {secret}"}, timeout=30.0
    ) as http:

        def over_http(count: int):
            targets = etags([next(pool) for _ in range(count)])

            def batch() -> None:
                for reference, etag in targets:
                    answer = http.post(
                        address.format(reference),
                        json={"name": "approve"},
                        headers={"If-Match": etag},
                    )
                    if answer.status_code != 200 or answer.json()["state"] != "ministerial_review":
                        raise RuntimeError(f"transition {reference} : HTTP {answer.status_code}")

            return batch

        for side in (over_http, in_process, through_django):
            side(WARMUP)()
        api, local, django = interleaved(
            [
                lambda number: over_http(TRANSITIONS),
                lambda number: in_process(TRANSITIONS),
                lambda number: through_django(TRANSITIONS),
            ],
            TRANSITIONS,
        )

    used = contracts[: 3 * (WARMUP + ROUNDS * TRANSITIONS)]
    moved = Case.objects.filter(pk__in=[c.pk for c in used], state="ministerial_review").count()
    if moved != len(used):
        failures.append(f"transitions : {moved} contrats approuvés sur {len(used)}")
    probe = next(pool)
    ((reference, etag),) = etags([probe])
    statements = statements_of(
        lambda: client.post(
            address.format(reference),
            {"name": "approve"},
            content_type="application/json",
            HTTP_IF_MATCH=etag,
        )
    )
    if Case.objects.get(pk=probe.pk).state != "ministerial_review":
        failures.append("la transition comptée par le client de test n'a pas abouti")
    service_statements = statements_of(
        lambda: services.case_approve(case=next(pool), actor=reviewer)
    )
    print("2. Transition : POST /api/v1/cases/<référence>/transitions/ (approve, If-Match)")
    print(f"   par HTTP (uvicorn, httpx, connexion gardée) : {api:7.1f} transitions/s")
    print(f"   en processus (services.case_approve) :        {local:7.1f} transitions/s")
    print(f"   rapport HTTP / en processus : {api / local:.2f}  (médianes de {ROUNDS} séries)")
    print(f"   pour situer : par le client de test (sans HTTP ni ASGI) {django:.1f} transitions/s")
    print(
        f"   requêtes SQL : {statements} par requête API (client de test, même pile), "
        f"{service_statements} par le service en processus"
    )
    print(
        f"   ouvrir une connexion PostgreSQL : {connection_cost():.1f} ms (médiane) ; avec "
        "CONN_MAX_AGE=0, chaque requête servie par uvicorn en ouvre une"
    )


def connection_cost() -> float:
    """What opening a connection costs, which each request served by uvicorn pays."""
    from django.db import connections

    connection = connections.create_connection("default")
    times = []
    for _ in range(20):
        start = time.perf_counter()
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        times.append(1000 * (time.perf_counter() - start))
        connection.close()
    return statistics.median(times)


def client_cost(verify=True) -> float:
    import httpx

    times = []
    for _ in range(10):
        start = time.perf_counter()
        client = httpx.Client(timeout=10.0, follow_redirects=False, verify=verify)
        times.append(1000 * (time.perf_counter() - start))
        client.close()
    return statistics.median(times)


def webhook_measure(reviewer, contracts: list, failures: list[str]) -> None:
    import httpx
    from django.db import connection, transaction
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from accounts.models import Membership
    from api.webhooks import delivery
    from api.webhooks import services as webhooks
    from api.webhooks.models import EventType, WebhookMessage
    from cases.kernel import services
    from cases.models import CaseEvent
    from tests import factories
    from tests.support import (
        WORKER_STARTED,
        Child,
        database_url_for,
        django_subprocess_env,
        readiness_budget,
    )

    receiver = Receiver()
    referent = factories.region_reviewer(
        Membership.objects.get(user=reviewer).organisation.region.code
    )
    Membership.objects.filter(user=referent).update(lead=True)
    subscription, receiver.secret = webhooks.subscription_create(
        actor=referent,
        organisation=Membership.objects.get(user=referent).organisation,
        url=receiver.url,
        event_types=[EventType.TRANSITION],
        description="Banc d'essai",
    )
    # As docker-compose runs it: manage.py run_worker, with its default polling interval.
    worker = Child(
        [sys.executable, "manage.py", "run_worker"],
        what="the worker (manage.py run_worker)",
        env=django_subprocess_env(DATABASE_URL=database_url_for(connection.settings_dict["NAME"])),
    )
    expected: list[int] = []
    committed_at: dict[int, float] = {}

    def approve(case) -> int:
        moments: list[float] = []
        with transaction.atomic():
            # Registered first, so it runs first, before the delivery is queued.
            transaction.on_commit(lambda: moments.append(time.perf_counter()))
            services.case_approve(case=case, actor=reviewer)
        event = CaseEvent.objects.filter(case_id=case.pk).order_by("-seq").first()
        assert event is not None
        expected.append(event.pk)
        committed_at[event.pk] = moments[0]
        return event.pk

    def arrived(event: int):
        return lambda: any(e == event for _, _, e in receiver.arrivals)

    body = b""
    latencies, plain, burst = [], [], []
    pool = iter(contracts)
    # The commits fall anywhere in the worker's polling cycle: paced by the arrivals alone,
    # each came just after the worker's last look and waited its whole interval.
    jitter = random.Random(1919)  # noqa: S311 - a delay, not a secret
    with (
        worker.running(lambda: WORKER_STARTED in worker.output(), max(60.0, readiness_budget())),
        # Built once, before the clock: what the baseline times is the POST itself, on a new
        # connection each time (``connection: close``), as delivery.send opens one a message.
        httpx.Client(timeout=10.0) as http,
    ):
        # Its start-up passes (reminders, the dashboard's warm-up) are done before the clock.
        time.sleep(3.0)
        http.post(receiver.url, content=b"{}", headers={"x-bench-baseline": "warm"})
        timed_from = timezone.now()
        for number in range(WARMUP + DELIVERIES):
            if number == WARMUP:
                timed_from = timezone.now()
            time.sleep(jitter.uniform(0.0, POLL_INTERVAL))
            event = approve(next(pool))
            if not receiver.wait(arrived(event)):
                failures.append(f"webhook de l'événement {event} non reçu en {ARRIVAL_TIMEOUT:g} s")
                break
            if number >= WARMUP:
                at = next(a for a, _, e in receiver.arrivals if e == event)
                latencies.append(at - committed_at[event])
            if not body:
                body = WebhookMessage.objects.filter(event_id=event).get().body.encode()
            # The baseline, right after: the same body to the same receiver, from this process.
            key = str(number)
            start = time.perf_counter()
            http.post(
                receiver.url,
                content=body,
                headers={
                    "content-type": "application/json",
                    "connection": "close",
                    "x-bench-baseline": key,
                },
            )
            if number >= WARMUP:
                plain.append(receiver.baseline[key] - start)
        # Back to back, without waiting: still in order, each once.
        timed_until = timezone.now()
        time.sleep(jitter.uniform(0.0, POLL_INTERVAL))
        burst_events = [approve(next(pool)) for _ in range(BURST)]
        if not receiver.wait(lambda: all(arrived(e)() for e in burst_events)):
            failures.append("rafale : des webhooks ne sont pas arrivés")
        for event in burst_events:
            at = next((a for a, _, e in receiver.arrivals if e == event), None)
            if at is not None:
                burst.append(at - committed_at[event])
        # Any duplicate has time to come before the count.
        time.sleep(1.5)
    receiver.stop()

    got = [event for _, _, event in receiver.arrivals]
    ids = [webhook_id for _, webhook_id, _ in receiver.arrivals]
    if receiver.refused:
        failures.append(f"signatures refusées par le récepteur : {receiver.refused}")
    if len(set(ids)) != len(ids) or len(set(got)) != len(got):
        failures.append("des webhooks sont arrivés plusieurs fois")
    if got != expected:
        failures.append(f"ordre ou nombre des webhooks : reçus {got}, attendus {expected}")
    # The worker's tasks while the webhooks were timed one at a time: what the delivery
    # waited for in the queue, and what else the worker ran meanwhile.
    tasks = DBTaskResult.objects.filter(
        enqueued_at__gte=timed_from, enqueued_at__lt=timed_until, finished_at__isnull=False
    )
    by_kind: dict[str, list[float]] = {}
    for task in tasks:
        run_ms = 1000 * (task.finished_at - task.started_at).total_seconds()
        by_kind.setdefault(task.task_path.rsplit(".", 1)[-1], []).append(run_ms)
    deliveries = tasks.filter(task_path=delivery.deliver_webhooks.module_path)
    waits = [1000 * (t.started_at - t.enqueued_at).total_seconds() for t in deliveries]
    runs = by_kind.get(delivery.deliver_webhooks.module_path.rsplit(".", 1)[-1], [])
    pending = WebhookMessage.objects.filter(subscription=subscription, delivered_at__isnull=True)
    if pending.exists():
        failures.append(f"{pending.count()} messages non livrés dans la boîte d'envoi")

    print(
        f"3. Webhook case.transition, du commit à l'arrivée au récepteur (127.0.0.1) : "
        f"{len(latencies)} transitions une à une"
    )
    if latencies and plain:
        ms = [1000 * value for value in latencies]
        base = [1000 * value for value in plain]
        print(
            f"   par le vrai chemin (boîte d'envoi, on_commit, run_worker) : "
            f"p50 {statistics.median(ms):6.1f} ms  p99 {percentile(ms, 0.99):6.1f} ms  "
            f"max {max(ms):6.1f} ms"
        )
        print(
            f"   référence, POST HTTP simple du même corps depuis ce processus : "
            f"p50 {statistics.median(base):5.2f} ms  p99 {percentile(base, 0.99):5.2f} ms"
        )
        ratio = percentile(ms, 0.99) / percentile(base, 0.99)
        print(f"   rapport p99 webhook / p99 référence : {ratio:.0f}")
    if waits and runs:
        print(
            f"   d'où vient le délai (tâches deliver_webhooks) : attente dans la file "
            f"p50 {statistics.median(waits):.0f} ms (le travailleur interroge la base "
            f"toutes les {POLL_INTERVAL:g} s par défaut), "
            f"exécution p50 {statistics.median(runs):.0f} ms"
        )
    print(
        "   tâches du travailleur pendant la mesure : "
        + " ; ".join(
            f"{kind} {len(times)} × {statistics.median(times):.0f} ms"
            for kind, times in sorted(by_kind.items())
        )
    )
    from api.webhooks import delivery

    print(
        f"   construire un httpx.Client : {client_cost():.1f} ms avec un nouveau contexte TLS "
        f"(certificats de certifi), {client_cost(delivery.tls_context()):.1f} ms avec celui du "
        "processus, que delivery.send reprend à chaque message"
    )
    if burst:
        print(
            f"   rafale de {BURST} transitions sans attendre : p50 "
            f"{1000 * statistics.median(burst):.1f} ms, max {1000 * max(burst):.1f} ms"
        )
    print(
        f"   {len(got)} reçus sur {len(expected)} attendus, signatures vérifiées "
        f"(standardwebhooks), {'dans l’ordre, chacun une fois' if got == expected else 'ÉCART'}"
    )


if __name__ == "__main__":
    sys.exit(main())
