import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from accounts.demo import DEMO_ACCOUNTS
from accounts.models import Membership, User

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_prints_passwords(capsys):
    call_command("seed_demo")
    first = capsys.readouterr().out
    counts = (User.objects.count(), Membership.objects.count())
    call_command("seed_demo")
    second = capsys.readouterr().out
    assert (User.objects.count(), Membership.objects.count()) == counts == (9, 9)
    for account in DEMO_ACCOUNTS:
        assert account.email in first and account.password in first
    assert "Aucun changement" in second


@pytest.mark.parametrize(
    ("email", "expected", "hidden"),
    [
        ("epci@demo.test", ["Vallée de l&#x27;Arve"], ["Caen Industrie"]),
        ("region@demo.test", ["Vallée de l&#x27;Arve", "Grand Annecy"], ["Caen Industrie"]),
        ("epci.cluses@demo.test", ["Vallée de l&#x27;Arve"], ["Caen Industrie"]),
        ("epci.caen@demo.test", ["Caen Industrie"], ["Vallée de l&#x27;Arve"]),
        ("region.normandie@demo.test", ["Caen Industrie", "Axe Seine"], ["Grand Annecy"]),
        ("ministere@demo.test", ["148\u00a0territoires"], []),
        ("copil@demo.test", ["148\u00a0territoires"], []),
        ("operateur@demo.test", ["Aucun territoire ne relève"], ["Caen Industrie"]),
    ],
)
def test_each_demo_account_logs_in_and_sees_its_territories(client, email, expected, hidden):
    call_command("seed_demo")
    password = next(a.password for a in DEMO_ACCOUNTS if a.email == email)
    response = client.post(reverse("login"), {"username": email, "password": password})
    assert response.status_code == 302, response.content.decode()[:500]
    assert response["Location"] == reverse("home")
    html = client.get(reverse("territory-list")).content.decode()
    for text in expected:
        assert text in html
    for text in hidden:
        assert text not in html


def test_seed_demo_refuses_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="refusé en production"):
        call_command("seed_demo")
    assert not User.objects.exists()


@pytest.mark.parametrize("account", DEMO_ACCOUNTS, ids=lambda account: account.email)
def test_each_demo_account_has_its_home_page(client, account):
    call_command("seed_demo")
    client.post(reverse("login"), {"username": account.email, "password": account.password})
    response = client.get(reverse("home"))
    if account.email == "copil@demo.test":
        assert response.status_code == 302 and response["Location"] == "/tableau-de-bord/"
    else:
        assert response.status_code == 200
        assert "<h1>Accueil</h1>" in response.content.decode()
