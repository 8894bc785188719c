"""Real servers for the tests: uvicorn serving the ASGI app as a subprocess."""

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from config.settings import channel_prefix

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def django_subprocess_env(**overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    # The child's channel layer is its test process's (config.settings.channel_prefix).
    env["CHANNEL_LAYER_PREFIX"] = channel_prefix()
    env.update(overrides)
    return env


def database_url_for(database_name: str) -> str:
    """The URL of the tests' PostgreSQL server, for a child process on ``database_name``."""
    from django.db import connection

    settings = connection.settings_dict
    return f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{database_name}"


def readiness_budget() -> float:
    """How long a child process may take to be ready: 15-20 s were seen on a loaded machine,
    so the budget is generous; TEST_READINESS_SECONDS overrides it."""
    return float(os.environ.get("TEST_READINESS_SECONDS", "120"))


class NotReady(RuntimeError):
    pass


class Child:
    """A process started by the tests, its output kept in a file so that a failure to start
    shows why."""

    def __init__(self, command: list[str], *, what: str, env: dict[str, str] | None = None):
        self.what = what
        self.log = Path(tempfile.mkstemp(prefix="ti-child-", suffix=".log")[1])
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
            )

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def wait_ready(self, ready: Callable[[], bool], timeout: float | None = None) -> None:
        budget = readiness_budget() if timeout is None else timeout
        deadline = time.monotonic() + budget
        while True:
            code = self.process.poll()
            if code is not None:
                raise NotReady(
                    f"{self.what} exited with code {code} before it was ready. "
                    f"End of its output:\n{self.tail()}"
                )
            if ready():
                return
            if time.monotonic() > deadline:
                raise NotReady(
                    f"{self.what} was not ready after {budget:g} s. "
                    f"End of its output:\n{self.tail()}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.unlink(missing_ok=True)

    @contextlib.contextmanager
    def running(self, ready: Callable[[], bool], timeout: float | None = None) -> Iterator[None]:
        """Ready, then the caller's block; the child's output is shown if either fails."""
        try:
            self.wait_ready(ready, timeout)
            try:
                yield
            except BaseException:
                print(f"End of the output of {self.what}:\n{self.tail()}", file=sys.stderr)
                raise
        finally:
            self.stop()


def port_open(port: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    return check


def answers(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            httpx.get(url, timeout=2.0)
        except httpx.TransportError:
            return False
        return True

    return check


@contextlib.contextmanager
def uvicorn_server(
    database_name: str, timeout: float | None = None, workers: int = 1, **env_overrides: str
) -> Iterator[str]:
    """Serve config.asgi under uvicorn on a free port, on the tests' database; yield its URL."""
    database_url = database_url_for(database_name)
    port = free_port()
    child = Child(
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
        what="uvicorn",
        env=django_subprocess_env(DATABASE_URL=database_url, **env_overrides),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with child.running(answers(f"{url}/connexion/"), timeout):
            yield url
    finally:
        _wait_for_sessions_to_end(database_name)


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
        self.child: Child | None = None

    def start(self, timeout: float | None = None) -> None:
        binary = os.environ.get("TEST_REDIS_SERVER", "redis-server")
        self.child = Child(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            what="redis-server",
        )
        try:
            self.child.wait_ready(port_open(self.port), timeout)
        except NotReady:
            self.stop()
            raise

    @property
    def process(self) -> subprocess.Popen | None:
        return self.child.process if self.child is not None else None

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()
            self.child = None


@contextlib.contextmanager
def worker_process(
    database_name: str, timeout: float | None = None, **env_overrides: str
) -> Iterator[subprocess.Popen]:
    """The background worker, as `make run` and docker-compose start it; yielded once it has
    started its polling loop (it says so in its log)."""
    database_url = database_url_for(database_name)
    child = Child(
        [sys.executable, "manage.py", "run_worker", "--interval", "0.2"],
        what="the worker (manage.py run_worker)",
        env=django_subprocess_env(DATABASE_URL=database_url, **env_overrides),
    )
    try:
        with child.running(lambda: WORKER_STARTED in child.output(), timeout):
            yield child.process
    finally:
        _wait_for_sessions_to_end(database_name)


# What django_tasks_db's db_worker logs once it polls the queue.
WORKER_STARTED = "Starting worker"
