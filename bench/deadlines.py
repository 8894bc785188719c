"""One reminder pass over many open cases of which few are due: its cost follows the number
due, not the number open.

Seeds ``seed_scale --contracts ${BENCH_CONTRACTS:-100000}`` (synthetic data), gives every
contract a clock (synthetic too: written in bulk, as if each were in regional review), 1 % of
them with a reminder due today, then times ``deadlines.reminders.run_pass``:

- run A: every contract open, 1 % due;
- run B: a tenth of them open (the due ones among them), the same number due.

Each run twice, alternated; the best of each. Goal: A / B close to 1 (the open cases that
are not due cost nothing); the cost per due case is printed too. Reproduce with (part of
make bench):
  BENCH_CONTRACTS=100000 .venv/bin/python scripts/with_services.py \
      .venv/bin/python -m bench.deadlines
"""

import os
import sys
import time
from datetime import timedelta
from io import StringIO

from bench._setup import setup_django

CONTRACTS = int(os.environ.get("BENCH_CONTRACTS", "100000"))
DUE_EVERY = 100  # 1 %


def number(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")


def main() -> int:
    setup_django("bench_deadlines")
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from deadlines.models import Clock, DeadlineRule, Reminder
    from deadlines.reminders import run_pass
    from tests import factories

    print(f"données synthétiques : seed_scale --contracts {CONTRACTS}…", flush=True)
    call_command("seed_scale", contracts=CONTRACTS, stdout=StringIO())
    factories.region_reviewer("84")
    rule = DeadlineRule.objects.get(kind="contract", call__isnull=True)
    today = timezone.localdate()

    def clocks(modulo: int | None) -> None:
        """A clock for every contract (or every ``modulo``-th one, keeping the due ones)."""
        Clock.objects.all().delete()
        Reminder.objects.all().delete()
        keep = "" if modulo is None else f"AND (c.id % {DUE_EVERY} = 0 OR c.id % {modulo} = 1)"
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {Clock._meta.db_table} (case_id, rule_id, received_on, pauses,
                    legal_end_on, legal_due_on, stage, stage_started_on, stage_entry,
                    stage_due_on, due_on, next_reminder_on)
                SELECT c.id, %s, %s, '[]', %s, %s, 'regional_review', %s, 1,
                    CASE WHEN c.id %% {DUE_EVERY} = 0 THEN %s ELSE %s END,
                    CASE WHEN c.id %% {DUE_EVERY} = 0 THEN %s ELSE %s END,
                    CASE WHEN c.id %% {DUE_EVERY} = 0 THEN %s ELSE %s END
                FROM cases_case c WHERE c.kind = 'contract' {keep.replace("%", "%%")}
                """,  # noqa: S608 - table name from the model, numbers from this file
                [
                    rule.pk,
                    today - timedelta(days=30),
                    today + timedelta(days=30),
                    today + timedelta(days=30),
                    today - timedelta(days=30),
                    today + timedelta(days=1),
                    today + timedelta(days=40),
                    today + timedelta(days=1),
                    today + timedelta(days=40),
                    today,
                    today + timedelta(days=25),
                ],
            )

    def timed_pass(label: str, modulo: int | None) -> tuple[float, int, int]:
        clocks(modulo)
        open_count = Clock.objects.count()
        due = Clock.objects.filter(next_reminder_on__lte=today).count()
        start = time.perf_counter()
        sent = run_pass(today=today)
        elapsed = time.perf_counter() - start
        print(
            f"  {label} : {number(open_count)} ouverts, {number(due)} dus, {number(sent)} "
            f"rappels envoyés, {elapsed:.2f} s ({elapsed / max(due, 1) * 1000:.1f} ms par "
            "dossier dû)",
            flush=True,
        )
        return elapsed, open_count, due

    # One reminder a case (J-1, due today): each due case costs one step.
    DeadlineRule.objects.filter(pk=rule.pk).update(reminders="1")
    print("Un passage des rappels (données synthétiques), deux fois chacun, en alternance :")
    runs: dict[str, list[float]] = {"A": [], "B": []}
    dues = set()
    for _ in range(2):
        for label, modulo in (("A", None), ("B", 10)):
            elapsed, _, due = timed_pass(label, modulo)
            runs[label].append(elapsed)
            dues.add(due)
    assert len(dues) == 1, dues
    a, b = min(runs["A"]), min(runs["B"])
    print(
        "ratio A / B (mêmes dossiers dus, dix fois plus d'ouverts en A), meilleurs temps : "
        f"{a / b:.2f}"
    )
    print("objectif : proche de 1 (le coût suit les dossiers dus, pas les ouverts)")
    print(
        "commande : BENCH_CONTRACTS="
        f"{CONTRACTS} .venv/bin/python scripts/with_services.py .venv/bin/python -m "
        "bench.deadlines"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
