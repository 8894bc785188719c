"""The database and the channel layer follow the environment; production passes --deploy."""

import json
import subprocess
import sys

import pytest
from channels_redis.core import RedisChannelLayer

from tests.support import ROOT, django_subprocess_env

PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'db': s.DATABASES['default']['ENGINE'], "
    "'db_name': s.DATABASES['default']['NAME'], "
    "'layer': s.CHANNEL_LAYERS['default']['BACKEND'], "
    "'hosts': s.CHANNEL_LAYERS['default'].get('CONFIG', {}).get('hosts'), "
    "'prefix': s.CHANNEL_LAYERS['default'].get('CONFIG', {}).get('prefix'), "
    "'debug': s.DEBUG, 'allowed': s.ALLOWED_HOSTS}))"
)
LONG_KEY = "k" * 20 + "-production-secret-key-for-the-check-only-" + "x" * 20


def bare_env(**values: str) -> dict[str, str]:
    env = django_subprocess_env(DJANGO_SETTINGS_MODULE="config.settings")
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "CHANNEL_LAYER_PREFIX",
        "CACHE_URL",
        "SECRET_KEY",
        "DEBUG",
        "ALLOWED_HOSTS",
        "DJANGO_ENV",
        "FAST_PASSWORD_HASHER",
    ):
        env.pop(name, None)
    env.update(values)
    return env


def run_python(code: str, **values: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=bare_env(**values),
        capture_output=True,
        text=True,
        check=False,
    )


def probe(**values: str) -> dict:
    result = run_python(PROBE, **values)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_embedded_default_is_sqlite_and_in_memory_layer():
    config = probe()
    assert config["db"] == "django.db.backends.sqlite3"
    assert config["layer"] == "channels.layers.InMemoryChannelLayer"
    assert config["debug"] is True


def test_database_url_switches_to_postgresql():
    config = probe(DATABASE_URL="postgres://agent:secret@db.example:5433/ti")
    assert config["db"] == "django.db.backends.postgresql"
    assert config["db_name"] == "ti"
    assert config["layer"] == "channels.layers.InMemoryChannelLayer"


def test_redis_url_switches_the_channel_layer():
    config = probe(REDIS_URL="redis://cache.example:6380/2")
    assert config["layer"] == "notifications.layer.PubSubLayer"
    assert config["hosts"] == ["redis://cache.example:6380/2"]
    assert config["db"] == "django.db.backends.sqlite3"
    core = probe(REDIS_URL="redis://cache.example:6380/2", REDIS_CHANNEL_LAYER="core")
    assert core["layer"] == "channels_redis.core.RedisChannelLayer"
    [host] = core["hosts"]
    assert host["address"] == "redis://cache.example:6380/2"
    # Longer than the BZPOPMIN the layer's receive blocks in, or an idle consumer times out.
    assert host["socket_timeout"] > RedisChannelLayer.brpop_timeout


def test_test_processes_side_by_side_get_channels_of_their_own():
    redis = "redis://cache.example:6380/2"
    assert probe(REDIS_URL=redis)["prefix"] == "asgi"
    assert probe(REDIS_URL=redis, PYTEST_XDIST_WORKER="gw1")["prefix"] == "asgigw1"
    # What a test gives the servers it starts wins.
    explicit = probe(REDIS_URL=redis, PYTEST_XDIST_WORKER="gw1", CHANNEL_LAYER_PREFIX="asgigw0")
    assert explicit["prefix"] == "asgigw0"


def test_debug_and_allowed_hosts_from_environment():
    config = probe(DEBUG="0", ALLOWED_HOSTS="ti.example.gouv.fr, autre.example.gouv.fr")
    assert config["debug"] is False
    assert config["allowed"] == ["ti.example.gouv.fr", "autre.example.gouv.fr"]


def production_env(**extra: str) -> dict[str, str]:
    return {
        "DJANGO_ENV": "production",
        "SECRET_KEY": LONG_KEY,
        "ALLOWED_HOSTS": "ti.example.gouv.fr",
        **extra,
    }


def test_production_passes_check_deploy_without_warning():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=bare_env(**production_env()),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without_secrets(missing):
    values = production_env()
    values.pop(missing)
    result = run_python(PROBE, **values)
    assert result.returncode != 0
    assert f"{missing} doit être défini" in result.stderr


def test_production_refuses_the_fast_password_hasher():
    result = run_python(PROBE, **production_env(FAST_PASSWORD_HASHER="1"))
    assert result.returncode != 0
    assert "FAST_PASSWORD_HASHER" in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_fast_password_hasher_is_honoured_outside_production():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.PASSWORD_HASHERS[0])"
    )
    result = run_python(code, FAST_PASSWORD_HASHER="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.contrib.auth.hashers.MD5PasswordHasher"


CACHE_PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps(s.CACHES['default']))"
)


def test_the_dashboard_cache_is_shared_when_cache_url_names_a_redis():
    shared = json.loads(run_python(CACHE_PROBE, CACHE_URL="redis://cache:6379/1").stdout)
    assert shared["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert shared["LOCATION"] == "redis://cache:6379/1"
    alone = json.loads(run_python(CACHE_PROBE).stdout)
    assert alone["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
