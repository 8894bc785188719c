"""Audited transitions per second through the service, against a raw ORM baseline.

Both run in the same process, in interleaved rounds, on the same PostgreSQL, so that the
machine's noise weighs on both alike. Reproduce with: make bench  (or  make bench-transitions)

Beside them, the ceiling: the very statements of one transition through the service,
captured once and replayed through ``connection.cursor()`` (each replay rolled back, so
that each finds the same rows), with no Python of ours, Django's or viewflow's around them.
The baseline's whole time over that replay is the best ratio any Python could reach with
those statements, and an optimistic one: the replay rolls back where the service commits,
and finds its rows warm.
"""

import collections
import statistics
import sys
import time

from bench._setup import setup_django, timed

ROUNDS = 5
PER_ROUND = 100
LISTENER_NAMES = {
    "workflows.engine": "circuit viewflow",
    "deadlines.listeners": "délais",
    "notifications.writer": "notifications",
    "api.webhooks.outbox": "webhooks",
}


class _RolledBack(Exception):
    pass


def statements_of(run) -> list[str]:
    """The SQL that ``run`` sends, its values in the text, from inside a transaction that is
    then rolled back: nothing of it stays, so that its replays find the same rows."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    try:
        with transaction.atomic(), CaptureQueriesContext(connection) as captured:
            run()
            raise _RolledBack
    except _RolledBack:
        pass
    # The service's own atomic block is a savepoint inside the capture's transaction.
    return [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]


def replay(statements: list[str], times: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for _ in range(times):
            cursor.execute("BEGIN")
            for sql in statements:
                cursor.execute(sql)
                if cursor.description is not None:
                    cursor.fetchall()
            cursor.execute("ROLLBACK")


def main() -> int:
    setup_django("bench_transitions")
    from django.db import connection, transaction
    from django.db.models import F
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from cases.kernel import hooks, services
    from cases.models import Case, CaseEvent
    from tests import factories

    author = factories.epci_agent("200000172")
    reviewer = factories.region_reviewer("84")

    def contracts(count):
        return [factories.contract_in_state("regional_review", author=author) for _ in range(count)]

    def through_service(batch):
        for contract in batch:
            services.case_approve(case=contract, actor=reviewer)

    # Each listener's share of the service's time: "without listeners" detaches them all
    # (the process, the deadline clock, the notifications, the webhooks), not the process alone.
    listener_seconds: dict[str, float] = collections.defaultdict(float)

    def timing(listener):
        def timed_listener(announcement):
            start = time.perf_counter()
            try:
                listener(announcement)
            finally:
                listener_seconds[listener.__module__] += time.perf_counter() - start

        return timed_listener

    def through_timed_service(batch):
        with hooks.listeners_replaced([timing(listener) for listener in hooks.listeners()]):
            through_service(batch)

    def raw_baseline(batch):
        for contract in batch:
            with transaction.atomic():
                locked = Case.objects.select_for_update().get(pk=contract.pk)
                now = timezone.now()
                Case.objects.filter(pk=locked.pk).update(
                    state="ministerial_review", version=F("version") + 1, updated_at=now
                )
                CaseEvent.objects.create(
                    case_id=locked.pk,
                    seq=locked.event_count + 1,
                    kind="transition",
                    name="approve",
                    actor=reviewer,
                    created_at=now,
                    from_state="regional_review",
                    to_state="ministerial_review",
                    prev_hash="0" * 64,
                    hash="0" * 64,
                )

    def without_listeners(batch):
        # The same service with every listener detached: what the listeners cost together.
        with hooks.listeners_replaced([]):
            through_service(batch)

    service_rates, raw_rates, bare_rates = [], [], []
    for _ in range(ROUNDS):
        service_batch, raw_batch = contracts(PER_ROUND), contracts(PER_ROUND)
        bare_batch = contracts(PER_ROUND)
        raw_rates.append(PER_ROUND / timed(raw_baseline, raw_batch))
        service_rates.append(PER_ROUND / timed(through_timed_service, service_batch))
        bare_rates.append(PER_ROUND / timed(without_listeners, bare_batch))

    # Where the time goes: what the statements take at the database (execute_wrapper times each
    # call, round trip included) against the whole, for both sides, on fresh batches.
    def split(run, batch):
        in_sql = 0.0

        def timing_sql(execute, sql, params, many, context):
            nonlocal in_sql
            start = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                in_sql += time.perf_counter() - start

        with connection.execute_wrapper(timing_sql):
            total = timed(run, batch)
        return 1000 * total / len(batch), 1000 * in_sql / len(batch)

    service_split = split(through_service, contracts(PER_ROUND))
    raw_split = split(raw_baseline, contracts(PER_ROUND))

    captured = contracts(1)[0]
    service_statements = statements_of(lambda: services.case_approve(case=captured, actor=reviewer))
    replay_ms, baseline_ms = [], []
    for _ in range(ROUNDS):
        replay_ms.append(1000 * timed(replay, service_statements, PER_ROUND) / PER_ROUND)
        baseline_ms.append(1000 * timed(raw_baseline, contracts(PER_ROUND)) / PER_ROUND)

    probe = contracts(1)[0]
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as queries:
        services.case_approve(case=probe, actor=reviewer)

    service, raw = statistics.median(service_rates), statistics.median(raw_rates)
    print(
        f"transitions auditées par le service : {service:8.1f} /s "
        f"(médiane de {ROUNDS} séries de {PER_ROUND})"
    )
    print(f"référence ORM brute (verrou, mise à jour, 1 insertion) : {raw:8.1f} /s")
    print(f"rapport service / référence : {service / raw:.2f} (objectif ≥ 0,5)")
    bare = statistics.median(bare_rates)
    print(
        "le même service sans ses écouteurs (circuit, délais, notifications, webhooks) : "
        f"{bare:8.1f} /s "
        f"(rapport {bare / raw:.2f} ; ils coûtent {1000 / service - 1000 / bare:.1f} ms)"
    )
    count = ROUNDS * PER_ROUND
    shares = " ; ".join(
        f"{LISTENER_NAMES.get(module, module)} {1000 * seconds / count:.1f} ms"
        for module, seconds in listener_seconds.items()
    )
    print(f"temps moyen de chaque écouteur par transition : {shares}")
    print(f"requêtes SQL par transition (service) : {len(queries)}")
    for label, (total, in_sql) in (("service", service_split), ("référence", raw_split)):
        print(
            f"{label} : {total:.1f} ms par transition, dont {in_sql:.1f} ms dans les requêtes "
            f"(aller-retour compris) et {total - in_sql:.1f} ms de Python"
        )
    replayed, baseline = statistics.median(replay_ms), statistics.median(baseline_ms)
    print(
        f"plafond : les {len(service_statements)} requêtes du service rejouées sans Python "
        f"prennent {replayed:.1f} ms, la référence entière {baseline:.1f} ms ; aucun code Python "
        f"ne peut dépasser le rapport {baseline / replayed:.2f} avec ces requêtes"
    )
    print("commande : make bench")
    return 0


if __name__ == "__main__":
    sys.exit(main())
