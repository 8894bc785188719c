"""Run a command against a throwaway PostgreSQL cluster and Redis server.

Both run on loopback, on free ports, in a temporary directory, and are stopped (and the
directory removed) however the command ends. PostgreSQL refuses to run as root, so as root
the cluster is run as the ``postgres`` system user.

A machine that lacks PostgreSQL, Redis or Chromium (the browser tests') gets them from
apt-get when this runs as root or with passwordless sudo; otherwise the one command to run is
printed.

Usage: python scripts/with_services.py COMMAND [ARG...]
POSTGRES_BINDIR, REDIS_SERVER and CHROMIUM override where the binaries are looked for;
TEST_READINESS_SECONDS how long a server may take to start (120 s).
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
# Where Debian's packages put what the suite runs; tests point these elsewhere.
POSTGRES_GLOB = "/usr/lib/postgresql/*/bin"
REDIS_FALLBACK = "/usr/bin/redis-server"
CHROMIUM_FALLBACK = "/usr/bin/chromium"
APT_INSTALL = ["apt-get", "install", "-y", "--no-install-recommends"]


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
        (p for p in glob.glob(POSTGRES_GLOB) if Path(p).parent.name.isdigit()),
        key=lambda p: int(Path(p).parent.name),
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
        REDIS_FALLBACK if Path(REDIS_FALLBACK).exists() else None
    )
    if not path:
        raise MissingTool(
            "Redis est introuvable (redis-server). Installez-le : apt-get install -y redis-server."
        )
    return path


def chromium_found() -> bool:
    forced = os.environ.get("CHROMIUM")
    if forced:
        return Path(forced).exists()
    return bool(shutil.which("chromium")) or Path(CHROMIUM_FALLBACK).exists()


def missing_packages() -> list[str]:
    """The Debian packages the suite needs and this machine lacks. A binary forced by an
    environment variable is the user's choice: if it is wrong, that is said, not installed."""
    missing = []
    if not os.environ.get("POSTGRES_BINDIR"):
        try:
            postgres_bindir()
        except MissingTool:
            missing.append("postgresql")
    if not os.environ.get("REDIS_SERVER"):
        try:
            redis_server()
        except MissingTool:
            missing.append("redis-server")
    if not os.environ.get("CHROMIUM") and not chromium_found():
        missing.append("chromium")
    return missing


def provisioning(
    missing: list[str], *, is_root: bool, has_apt: bool, sudo_ok: bool
) -> tuple[list[list[str]] | None, str]:
    """What to do about ``missing``: the commands to run now (None when we cannot), and the
    one command a person would type."""
    sudo = "" if is_root else "sudo "
    install = " ".join([*APT_INSTALL, *missing])
    hint = f"{sudo}apt-get update && {sudo}DEBIAN_FRONTEND=noninteractive {install}"
    if not missing:
        return [], hint
    if not has_apt:
        return None, hint
    if is_root:
        prefix = ["env", "DEBIAN_FRONTEND=noninteractive"]
        return [[*prefix, "apt-get", "update"], [*prefix, *APT_INSTALL, *missing]], hint
    if sudo_ok:
        prefix = ["sudo", "-n", "env", "DEBIAN_FRONTEND=noninteractive"]
        return [[*prefix, "apt-get", "update"], [*prefix, *APT_INSTALL, *missing]], hint
    return None, hint


def passwordless_sudo() -> bool:
    if not shutil.which("sudo"):
        return False
    result = subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False)
    return result.returncode == 0


def install_missing() -> bool:
    """Install what the suite lacks when this machine lets us; False if a person must."""
    missing = missing_packages()
    if not missing:
        return True
    is_root = os.geteuid() == 0
    commands, hint = provisioning(
        missing,
        is_root=is_root,
        has_apt=bool(shutil.which("apt-get")),
        sudo_ok=not is_root and passwordless_sudo(),
    )
    if commands is None:
        print(
            f"make test : il manque {', '.join(missing)}. Installez-les une fois :\n"
            f"  {hint}\npuis relancez make test.",
            file=sys.stderr,
        )
        return False
    print(f"make test : installation de {', '.join(missing)} (apt-get)…", flush=True)
    for command in commands:
        if subprocess.run(command, check=False).returncode != 0:
            print(f"make test : l'installation a échoué. À la main :\n  {hint}", file=sys.stderr)
            return False
    return True


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


def readiness_budget() -> float:
    # A loaded machine was seen taking 15-20 s to start a server: be generous.
    return float(os.environ.get("TEST_READINESS_SECONDS", "120"))


def log_tail(log: Path | None, lines: int = 20) -> str:
    if log is None or not log.exists():
        return ""
    tail = log.read_text(errors="replace").splitlines()[-lines:]
    return "\nFin de son journal :\n" + "\n".join(tail)


def wait_for_port(
    port: int,
    what: str,
    process: subprocess.Popen | None = None,
    log: Path | None = None,
    timeout: float | None = None,
) -> None:
    budget = readiness_budget() if timeout is None else timeout
    deadline = time.monotonic() + budget
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"{what} s'est arrêté (code {process.returncode}) avant d'écouter "
                f"sur le port {port}.{log_tail(log)}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{what} n'écoutait toujours pas sur le port {port} après {budget:g} s."
                    f"{log_tail(log)}"
                ) from None
            time.sleep(0.1)


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
                    "-t",
                    str(int(readiness_budget())),
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=self.tmp,
        )
        self.pg_started = True
        redis_log = self.tmp / "redis.log"
        with redis_log.open("wb") as output:
            self.redis = self._start_redis(output)
        wait_for_port(self.redis_port, "Redis", self.redis, redis_log)
        return {
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{self.pg_port}/territoires",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "TEST_REDIS_SERVER": self.redis_bin,
            "TEST_REDIS_PORT": str(self.redis_port),
            "FAST_PASSWORD_HASHER": "1",
        }

    def _start_redis(self, output) -> subprocess.Popen:
        return subprocess.Popen(
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
            stdout=output,
            stderr=subprocess.STDOUT,
        )

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
    if not install_missing():
        return 3
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
