"""A web request waits a bounded time for a locked case, then says so; nothing changes."""

import threading
import time
from html import unescape

import psycopg
import pytest
from django.db import connection

from cases.models import Case
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def contract(reference_data):
    return factories.contract_in_state("draft", actions=1)


@pytest.fixture
def case_locked_elsewhere(contract):
    """Another session holds the case's row lock, as a stuck transaction would."""
    settings = connection.settings_dict
    other = psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"],
        user=settings["USER"],
        dbname=settings["NAME"],
        autocommit=False,
    )
    table = Case._meta.db_table
    other.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", [contract.pk])  # noqa: S608
    # Released after a while all the same, so that without a bound the test ends (and fails).
    release = threading.Timer(10, other.rollback)
    release.start()
    yield contract
    release.cancel()
    other.rollback()
    other.close()


def post_submit(client, contract, **headers):
    client.force_login(contract.created_by)
    return client.post(
        f"/contrats/{contract.reference}/decision/",
        {"transition": "submit", "version": factories.contract_version(contract), "comment": ""},
        headers=headers,
    )


def test_a_locked_case_answers_busy_in_french_quickly_and_changes_nothing(
    client, settings, case_locked_elsewhere
):
    settings.DB_LOCK_TIMEOUT_MS = 300
    contract = case_locked_elsewhere
    version = factories.contract_version(contract)
    started = time.monotonic()
    response = post_submit(client, contract)
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    body = unescape(response.content.decode())
    assert "Le dossier est occupé\u00a0: réessayez dans un instant. Rien n'a été modifié." in body
    assert f'href="/contrats/{contract.reference}/"' in body
    fresh = Case.objects.get(pk=contract.pk)
    assert (fresh.state, fresh.version) == ("draft", version)
    assert fresh.events.filter(name="submit").count() == 0


def test_a_locked_case_answers_busy_in_json(client, settings, case_locked_elsewhere):
    settings.DB_LOCK_TIMEOUT_MS = 300
    response = post_submit(client, case_locked_elsewhere, accept="application/json")
    assert response.status_code == 503
    assert "Le dossier est occupé" in response.json()["error"]
    assert Case.objects.get(pk=case_locked_elsewhere.pk).state == "draft"


def test_the_bounds_are_set_for_the_request_only(client, contract, settings):
    settings.DB_LOCK_TIMEOUT_MS = 4321
    settings.DB_STATEMENT_TIMEOUT_MS = 12345
    seen = {}

    from django.db.models.signals import post_save

    def record(**kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SHOW lock_timeout")
            seen["lock"] = cursor.fetchone()[0]
            cursor.execute("SHOW statement_timeout")
            seen["statement"] = cursor.fetchone()[0]

    post_save.connect(record, sender=type(contract), weak=False)
    try:
        response = post_submit(client, contract)
    finally:
        post_save.disconnect(record, sender=type(contract))
    assert response.status_code == 302
    assert seen == {"lock": "4321ms", "statement": "12345ms"}
    # Outside a request (management commands, the worker, this test) there is no bound.
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "0"
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"


class AsSQLite:
    """The real connection, which the middleware alone sees as the demo's SQLite."""

    vendor = "sqlite"

    def __getattr__(self, name):
        return getattr(connection, name)


def test_the_sqlite_demo_gets_no_postgresql_setting(client, contract, monkeypatch):
    from django.test.utils import CaptureQueriesContext

    from config import middleware

    monkeypatch.setattr(middleware, "connection", AsSQLite())
    client.force_login(contract.created_by)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/contrats/{contract.reference}/")
    assert response.status_code == 200
    assert queries.captured_queries
    assert not [q for q in queries.captured_queries if "timeout" in q["sql"]]


@pytest.mark.parametrize(
    "cause", [psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure]
)
def test_a_deadlock_or_serialization_failure_answers_busy_not_a_500(rf, cause):
    """PostgreSQL ends one of two transactions that wait on each other: that one has rolled
    back whole, and the user is told to try again, as for a lock not obtained in time."""
    from django.db import OperationalError

    from config.middleware import DatabaseTimeoutMiddleware

    error = OperationalError("aborted")
    error.__cause__ = cause("aborted")
    request = rf.post("/contrats/CT-2019-0001/decision/")
    response = DatabaseTimeoutMiddleware(lambda r: None).process_exception(request, error)
    assert response is not None and response.status_code == 503
    assert "Rien n'a été modifié" in unescape(response.content.decode())
    assert response["Retry-After"] == "5"
