"""Real servers for the tests: uvicorn serving the ASGI app as a subprocess."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def django_subprocess_env(**overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(overrides)
    return env


def database_url_for(database_name: str) -> str:
    """The URL of the tests' PostgreSQL server, for a child process on ``database_name``."""
    from django.db import connection

    settings = connection.settings_dict
    return f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{database_name}"


def _stop(process: subprocess.Popen, database_name: str) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    _wait_for_sessions_to_end(database_name)


@contextlib.contextmanager
def uvicorn_server(
    database_name: str, timeout: float = 30.0, workers: int = 1, **env_overrides: str
) -> Iterator[str]:
    """Serve config.asgi under uvicorn on a free port, on the tests' database; yield its URL."""
    database_url = database_url_for(database_name)
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--lifespan",
            "off",
            # As deployed: the messages are a few hundred bytes, not worth compressing.
            "--ws-per-message-deflate",
            "false",
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
        env=django_subprocess_env(DATABASE_URL=database_url, **env_overrides),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with code {process.returncode}")
            try:
                httpx.get(f"{url}/connexion/", timeout=1.0)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        _stop(process, database_name)


def _wait_for_sessions_to_end(database_name: str, timeout: float = 5.0) -> None:
    """PostgreSQL ends a dead client's backend a moment after the process is gone; the test
    database can only be dropped once it has."""
    from django.db import connection

    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                [database_name],
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.05)


@contextlib.contextmanager
def redis_server(port: int | None = None) -> Iterator["RedisProcess"]:
    """A Redis of the test's own on loopback, which the test may stop and start again."""
    redis = RedisProcess(port or free_port())
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


class RedisProcess:
    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        binary = os.environ.get("TEST_REDIS_SERVER", "redis-server")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@contextlib.contextmanager
def worker_process(database_name: str, **env_overrides: str) -> Iterator[subprocess.Popen]:
    """The background worker, as `make run` and docker-compose start it."""
    database_url = database_url_for(database_name)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_worker", "--interval", "0.2"],
        cwd=ROOT,
        env=django_subprocess_env(DATABASE_URL=database_url, **env_overrides),
    )
    try:
        yield process
    finally:
        _stop(process, database_name)
