"""A child process that does not become ready fails the test with its own output."""

import stat
import sys

import pytest

from tests import support


def test_a_child_that_exits_early_shows_its_output():
    child = support.Child(
        [
            sys.executable,
            "-c",
            "print('port 8000 already in use', flush=True); raise SystemExit(3)",
        ],
        what="fake server",
    )
    try:
        with pytest.raises(support.NotReady) as raised:
            child.wait_ready(lambda: False, timeout=30)
    finally:
        child.stop()
    assert "fake server exited with code 3" in str(raised.value)
    assert "port 8000 already in use" in str(raised.value)


def test_a_child_never_ready_fails_after_its_budget_with_its_output():
    child = support.Child(
        [sys.executable, "-c", "print('still loading', flush=True); import time; time.sleep(60)"],
        what="slow server",
    )
    try:
        with pytest.raises(support.NotReady) as raised:
            child.wait_ready(lambda: "never" in child.output(), timeout=1.5)
    finally:
        child.stop()
    assert "slow server was not ready after 1.5 s" in str(raised.value)
    assert "still loading" in str(raised.value)
    assert child.process.poll() is not None


def test_the_budget_is_generous_and_set_by_the_environment(monkeypatch):
    monkeypatch.delenv("TEST_READINESS_SECONDS", raising=False)
    assert support.readiness_budget() == 120
    monkeypatch.setenv("TEST_READINESS_SECONDS", "300")
    assert support.readiness_budget() == 300


@pytest.mark.django_db
def test_uvicorn_that_cannot_start_says_why():
    with (
        pytest.raises(support.NotReady) as raised,
        support.uvicorn_server("unused", DJANGO_ENV="staging"),
    ):
        pass
    assert "DJANGO_ENV doit valoir" in str(raised.value)


@pytest.mark.django_db
def test_a_worker_that_cannot_start_says_why():
    with (
        pytest.raises(support.NotReady) as raised,
        support.worker_process("unused", DJANGO_ENV="staging"),
    ):
        pass
    assert "DJANGO_ENV doit valoir" in str(raised.value)


def test_a_redis_that_cannot_start_says_why(tmp_path, monkeypatch):
    fake = tmp_path / "redis-server"
    fake.write_text("#!/bin/sh\necho 'Could not create server TCP listening socket'\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("TEST_REDIS_SERVER", str(fake))
    with pytest.raises(support.NotReady) as raised, support.redis_server():
        pass
    assert "Could not create server TCP listening socket" in str(raised.value)
