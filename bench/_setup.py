"""Shared set-up for the benchmarks: a fresh PostgreSQL database, migrated, with reference data.

Run them through `make bench`, which starts a throwaway PostgreSQL and Redis.
"""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(database: str) -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Les mesures se font sur PostgreSQL : lancez-les avec « make bench ».")
    import psycopg

    server, _, _ = url.rpartition("/")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{database}"')
        connection.execute(f'CREATE DATABASE "{database}"')
    os.environ["DATABASE_URL"] = f"{server}/{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("FAST_PASSWORD_HASHER", "1")
    # Measured as production runs: with DEBUG, Django logs every statement with its SQL text,
    # which weighs more on the side that runs more statements.
    os.environ.setdefault("DEBUG", "0")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_reference_data", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115


def timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start
