"""`make test` on a new machine: what it installs, what it asks for, how it waits."""

import importlib.util
import subprocess
import sys

import pytest

from tests.support import ROOT, free_port


@pytest.fixture(scope="module")
def with_services():
    spec = importlib.util.spec_from_file_location(
        "with_services", ROOT / "scripts/with_services.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def machine(with_services, tmp_path, monkeypatch):
    """A machine whose tools are only what the test puts in its fake directories."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    for name in ("POSTGRES_BINDIR", "REDIS_SERVER", "CHROMIUM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(with_services, "POSTGRES_GLOB", str(tmp_path / "postgresql/*/bin"))
    monkeypatch.setattr(with_services, "REDIS_FALLBACK", str(tmp_path / "none/redis-server"))
    monkeypatch.setattr(with_services, "CHROMIUM_FALLBACK", str(tmp_path / "none/chromium"))

    def install(*names: str) -> None:
        for name in names:
            if name == "postgresql":
                directory = tmp_path / "postgresql/15/bin"
                directory.mkdir(parents=True)
                paths = [directory / "initdb", directory / "pg_ctl"]
            else:
                paths = [bin_dir / name]
            for path in paths:
                path.write_text("#!/bin/sh\n")
                path.chmod(0o755)

    return install


def test_a_bare_machine_lacks_the_three_packages(with_services, machine):
    assert with_services.missing_packages() == ["postgresql", "redis-server", "chromium"]


def test_only_what_is_absent_is_missing(with_services, machine):
    machine("postgresql", "chromium")
    assert with_services.missing_packages() == ["redis-server"]
    machine("redis-server")
    assert with_services.missing_packages() == []


def test_an_old_postgresql_does_not_count(with_services, machine, tmp_path):
    old = tmp_path / "postgresql/13/bin"
    old.mkdir(parents=True)
    for name in ("initdb", "pg_ctl"):
        (old / name).write_text("#!/bin/sh\n")
    assert "postgresql" in with_services.missing_packages()


def test_a_forced_binary_is_never_installed_over(with_services, machine, monkeypatch):
    monkeypatch.setenv("REDIS_SERVER", "/nonexistent/redis-server")
    assert "redis-server" not in with_services.missing_packages()


APT = ["apt-get", "install", "-y", "--no-install-recommends"]
MISSING = ["postgresql", "redis-server", "chromium"]


def test_as_root_with_apt_it_installs_itself(with_services):
    commands, _ = with_services.provisioning(MISSING, is_root=True, has_apt=True, sudo_ok=False)
    assert commands == [
        ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "update"],
        ["env", "DEBIAN_FRONTEND=noninteractive", *APT, *MISSING],
    ]


def test_with_passwordless_sudo_it_installs_through_sudo(with_services):
    commands, _ = with_services.provisioning(MISSING, is_root=False, has_apt=True, sudo_ok=True)
    assert commands == [
        ["sudo", "-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "update"],
        ["sudo", "-n", "env", "DEBIAN_FRONTEND=noninteractive", *APT, *MISSING],
    ]


def test_without_root_or_sudo_it_prints_the_one_command(with_services):
    commands, hint = with_services.provisioning(
        ["redis-server"], is_root=False, has_apt=True, sudo_ok=False
    )
    assert commands is None
    assert hint == (
        "sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive "
        "apt-get install -y --no-install-recommends redis-server"
    )


def test_without_apt_nothing_is_run(with_services):
    commands, _ = with_services.provisioning(MISSING, is_root=True, has_apt=False, sudo_ok=False)
    assert commands is None


def test_nothing_missing_nothing_to_run(with_services):
    assert with_services.provisioning([], is_root=True, has_apt=True, sudo_ok=True)[0] == []


def test_make_test_prints_the_command_and_stops_when_it_cannot_install(tmp_path):
    """The script itself, run as a user without sudo on a machine without Redis."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "apt-get").write_text("#!/bin/sh\necho apt-get must not run; exit 99\n")
    (bin_dir / "apt-get").chmod(0o755)
    script = str(ROOT / "scripts/with_services.py")
    code = (
        "import importlib.util, os, sys; os.geteuid = lambda: 1000; "
        f"spec = importlib.util.spec_from_file_location('ws', {script!r}); "
        "ws = importlib.util.module_from_spec(spec); spec.loader.exec_module(ws); "
        f"ws.REDIS_FALLBACK = {str(tmp_path / 'none')!r}; "
        "sys.exit(ws.main(['true']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={
            "PATH": str(bin_dir),
            # Forced, so not looked for (and never reached: the script stops before).
            "POSTGRES_BINDIR": str(tmp_path / "postgresql"),
            "CHROMIUM": sys.executable,
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    assert "il manque redis-server" in result.stderr
    assert "sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive" in result.stderr
    assert "apt-get must not run" not in result.stdout + result.stderr


def test_a_server_that_exits_early_is_reported_with_its_log(with_services, tmp_path):
    log = tmp_path / "redis.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", "print('Warning: port in use'); raise SystemExit(1)"],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    with pytest.raises(RuntimeError) as raised:
        with_services.wait_for_port(free_port(), "Redis", process, log, timeout=30)
    assert "Redis s'est arrêté (code 1)" in str(raised.value)
    assert "Warning: port in use" in str(raised.value)


def test_a_server_never_listening_is_reported_after_its_budget(with_services, tmp_path):
    log = tmp_path / "redis.log"
    log.write_text("Loading the dataset\n")
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(RuntimeError) as raised:
            with_services.wait_for_port(free_port(), "Redis", process, log, timeout=1)
    finally:
        process.kill()
        process.wait()
    assert "après 1 s" in str(raised.value)
    assert "Loading the dataset" in str(raised.value)


def test_the_default_budget_is_generous(with_services, monkeypatch):
    monkeypatch.delenv("TEST_READINESS_SECONDS", raising=False)
    assert with_services.readiness_budget() == 120
