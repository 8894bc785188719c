import subprocess
import sys

import pytest
from django.urls import reverse

from tests import factories
from tests.support import ROOT, django_subprocess_env

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "model", ["user", "organisation", "membership", "region", "intercommunality", "territory"]
)
def test_admin_lists_and_adds(client, model):
    admin = factories.ministry_agent(is_staff=True, is_superuser=True)
    client.force_login(admin)
    app = "accounts" if model in {"user", "organisation", "membership"} else "territories"
    assert client.get(reverse(f"admin:{app}_{model}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:{app}_{model}_add")).status_code == 200


def test_admin_is_closed_to_agents(client):
    client.force_login(factories.ministry_agent())
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302


def test_not_found_page_is_french(client, settings):
    settings.DEBUG = False
    client.force_login(factories.epci_agent("200000172"))
    response = client.get("/territoires/2802/")
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()


def test_expired_form_is_explained_in_french(settings):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "x@y.fr", "password": "z"})
    assert response.status_code == 403
    assert "Formulaire expiré" in response.content.decode()


@pytest.mark.parametrize(
    ("variable", "message"),
    [("REDIS_SERVER", "n'existe pas"), ("POSTGRES_BINDIR", "ne contient pas initdb")],
)
def test_make_test_says_what_is_missing(variable, message):
    env = django_subprocess_env(**{variable: "/nonexistent/bin"})
    result = subprocess.run(
        [sys.executable, "scripts/with_services.py", "true"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 3
    assert message in result.stderr
