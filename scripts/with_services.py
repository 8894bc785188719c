"""Run a command against a throwaway PostgreSQL cluster and Redis server.

Both run on loopback, on free ports, in a temporary directory, and are stopped (and the
directory removed) however the command ends. PostgreSQL refuses to run as root, so as root
the cluster is run as the ``postgres`` system user.

Usage: python scripts/with_services.py COMMAND [ARG...]
POSTGRES_BINDIR and REDIS_SERVER override where the binaries are looked for.
"""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MIN_POSTGRES = 15


class MissingTool(Exception):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bindir() -> Path:
    forced = os.environ.get("POSTGRES_BINDIR")
    if forced:
        if not Path(forced, "initdb").exists():
            raise MissingTool(f"POSTGRES_BINDIR={forced} ne contient pas initdb.")
        return Path(forced)
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )
    for directory in reversed(candidates):
        if int(Path(directory).parent.name) < MIN_POSTGRES:
            continue
        if Path(directory, "initdb").exists() and Path(directory, "pg_ctl").exists():
            return Path(directory)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise MissingTool(
        "PostgreSQL est introuvable (ni /usr/lib/postgresql/*/bin/initdb, "
        "ni initdb dans le PATH).\n"
        f"Installez-le : apt-get install -y postgresql (version {MIN_POSTGRES} ou plus)."
    )


def redis_server() -> str:
    forced = os.environ.get("REDIS_SERVER")
    if forced:
        if not Path(forced).exists():
            raise MissingTool(f"REDIS_SERVER={forced} n'existe pas. Installez redis-server.")
        return forced
    path = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if not path:
        raise MissingTool(
            "Redis est introuvable (redis-server). Installez-le : apt-get install -y redis-server."
        )
    return path


def as_cluster_owner(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    try:
        pwd.getpwnam("postgres")
    except KeyError as error:
        raise MissingTool(
            "PostgreSQL refuse de tourner en root et l'utilisateur système "
            "« postgres » n'existe pas.\n"
            "Installez le paquet postgresql, qui le crée."
        ) from error
    return ["runuser", "-u", "postgres", "--", *command]


def wait_for_port(port: int, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} n'a pas démarré sur le port {port} en {timeout:.0f} s.")


class Services:
    def __init__(self) -> None:
        self.bindir = postgres_bindir()
        self.redis_bin = redis_server()
        self.tmp = Path(tempfile.mkdtemp(prefix="ti-services-"))
        self.pgdata = self.tmp / "pg"
        self.pg_port = free_port()
        self.redis_port = free_port()
        self.redis: subprocess.Popen | None = None
        self.pg_started = False

    def start(self) -> dict[str, str]:
        if os.geteuid() == 0:
            # The cluster runs as "postgres", which must be able to reach its directory.
            os.chmod(self.tmp, 0o755)  # noqa: S103
            shutil.chown(self.tmp, user="postgres")
        subprocess.run(
            as_cluster_owner(
                [
                    str(self.bindir / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=self.tmp,
        )
        options = (
            f"-p {self.pg_port} -k {self.tmp} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            as_cluster_owner(
                [
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.pgdata),
                    "-l",
                    str(self.tmp / "pg.log"),
                    "-o",
                    options,
                    "-w",
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=self.tmp,
        )
        self.pg_started = True
        self.redis = subprocess.Popen(
            [
                self.redis_bin,
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for_port(self.redis_port, "Redis")
        return {
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{self.pg_port}/territoires",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "TEST_REDIS_SERVER": self.redis_bin,
            "TEST_REDIS_PORT": str(self.redis_port),
            "FAST_PASSWORD_HASHER": "1",
        }

    def stop(self) -> None:
        if self.redis is not None and self.redis.poll() is None:
            self.redis.terminate()
            try:
                self.redis.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.redis.kill()
        if self.pg_started:
            subprocess.run(
                as_cluster_owner(
                    [str(self.bindir / "pg_ctl"), "-D", str(self.pgdata), "-m", "immediate", "stop"]
                ),
                check=False,
                stdout=subprocess.DEVNULL,
                cwd=self.tmp,
            )
        shutil.rmtree(self.tmp, ignore_errors=True)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        services = Services()
    except MissingTool as error:
        print(f"make test : {error}", file=sys.stderr)
        return 3
    # A SIGTERM (CI timeout, Ctrl-C from make) must still stop the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        env = services.start()
        print(
            f"PostgreSQL sur 127.0.0.1:{services.pg_port}, "
            f"Redis sur 127.0.0.1:{services.redis_port}",
            flush=True,
        )
        return subprocess.run(argv, env={**os.environ, **env}, check=False).returncode
    except KeyboardInterrupt:
        return 130
    except (subprocess.CalledProcessError, RuntimeError) as error:
        print(f"make test : les services de test n'ont pas démarré ({error}).", file=sys.stderr)
        log = services.tmp / "pg.log"
        if log.exists():
            tail = log.read_text(errors="replace").splitlines()[-20:]
            print("Fin du journal PostgreSQL :", *tail, sep="\n", file=sys.stderr)
        return 3
    finally:
        services.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
