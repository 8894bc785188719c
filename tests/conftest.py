import contextlib
import os

import pytest


def pytest_configure(config):
    # The suite runs on the real parts only; `make test` starts them.
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        pytest.exit(
            "Les tests tournent sur PostgreSQL et Redis : lancez-les avec « make test ».", 2
        )
    if not os.environ.get("REDIS_URL"):
        pytest.exit("REDIS_URL manque : lancez les tests avec « make test ».", 2)


# The files that take minutes, first: side by side (pytest-xdist, `--no-loadscope-reorder` in
# the Makefile), whole files go to the processes in this order, and one of these handed out
# last kept a process busy long after the other had finished.
LONGEST_FIRST = ("tests/e2e/test_accessibility.py", "tests/api/test_fuzz.py")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    rank = {path: index for index, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.partition("::")[0], len(rank)))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    # Loaded once; the rollback of each ordinary test keeps it.
    from tests.factories import ensure_reference_data

    with django_db_blocker.unblock():
        ensure_reference_data()


@pytest.fixture
def reference_data(db):
    """The real reference data, reloaded if a transactional test flushed it."""
    from tests.factories import ensure_reference_data

    ensure_reference_data()


@pytest.fixture(autouse=True)
def reference_data_after_a_flush(request):
    """pytest-django runs the transactional tests last, for their flush removes the reference
    data. Side by side (pytest-xdist, whole files to each process), a process may run one
    file's transactional tests before another file's tests, which would find it gone."""
    if request.node.get_closest_marker("django_db") is not None:
        request.getfixturevalue("reference_data")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploaded files go to a fresh folder per test, never into the working tree."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(scope="module")
def module_server(django_db_setup, django_db_blocker):
    """One uvicorn on the test database for a whole module: its tests are transactional, so
    it reads what each of them commits; starting one per test cost seconds each time."""
    from django.db import connection

    from tests.support import uvicorn_server

    with contextlib.ExitStack() as stack:
        yield stack.enter_context(uvicorn_server(connection.settings_dict["NAME"]))
        # Its end waits for the server's database sessions to be gone, which is a query.
        with django_db_blocker.unblock():
            stack.close()
