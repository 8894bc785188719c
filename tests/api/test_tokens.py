"""Personal API tokens: shown once, stored hashed, with an expiry, read-only or read-write,
revocable, with a last-used date; and the profile page that makes them."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from api import tokens
from api.models import ApiToken
from cases.kernel.services import ActionForbidden, InvalidInput
from tests import factories

pytestmark = pytest.mark.django_db

LIST = "/api/v1/contracts/"


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_a_token_is_stored_as_its_digest_only_and_acts_as_its_user(client):
    agent = factories.epci_agent("200000172")
    token, secret = tokens.token_create(
        actor=agent, name="Tableur", lifetime_days=30, read_only=True
    )
    assert secret.startswith("ti_") and len(secret) > 40
    stored = ApiToken.objects.get(pk=token.pk)
    assert secret not in (stored.digest, stored.prefix) and stored.digest == tokens.digest_of(
        secret
    )
    assert secret.startswith(stored.prefix)
    assert stored.expires_at - stored.created_at == timedelta(days=30)
    answer = client.get(LIST, **bearer(secret))
    assert answer.status_code == 200
    stored.refresh_from_db()
    assert stored.last_used_at is not None


@pytest.mark.parametrize(
    "spoil",
    [
        lambda token: ApiToken.objects.filter(pk=token.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        ),
        lambda token: tokens.token_revoke(token=token, actor=token.user),
        lambda token: type(token.user).objects.filter(pk=token.user_id).update(is_active=False),
    ],
    ids=["expired", "revoked", "user deactivated"],
)
def test_an_expired_or_revoked_token_or_one_of_a_deactivated_user_is_refused(client, spoil):
    token, secret = tokens.token_create(
        actor=factories.ministry_agent(), name="Outil", lifetime_days=30, read_only=True
    )
    assert client.get(LIST, **bearer(secret)).status_code == 200
    spoil(token)
    answer = client.get(LIST, **bearer(secret))
    assert answer.status_code == 401
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["detail"] == "Jeton invalide, expiré ou révoqué."
    assert answer["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer ti_inconnu", "Bearer a b", "Bearer ti_" + "x" * 40]
)
def test_a_malformed_or_unknown_token_is_a_french_401(client, header):
    answer = client.get(LIST, HTTP_AUTHORIZATION=header)
    assert answer.status_code == 401
    assert answer.json()["status"] == 401
    assert "jeton" in answer.json()["detail"].lower() or "Authorization" in answer.json()["detail"]


def test_no_credentials_is_a_401_that_says_how_to_authenticate(client):
    answer = client.get(LIST)
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == 'Bearer realm="api"'
    assert answer.json()["title"] == "Authentification requise"


def test_a_read_only_token_cannot_write(client):
    _token, secret = tokens.token_create(
        actor=factories.ministry_agent(), name="Lecture", lifetime_days=30, read_only=True
    )
    answer = client.post(LIST, {}, content_type="application/json", **bearer(secret))
    assert answer.status_code == 403
    assert (
        answer.json()["detail"] == "Ce jeton est en lecture seule\u00a0: il ne peut rien modifier."
    )


def test_a_read_write_token_goes_past_the_read_only_refusal(client):
    _token, secret = tokens.token_create(
        actor=factories.ministry_agent(), name="Écriture", lifetime_days=30, read_only=False
    )
    answer = client.post(LIST, {}, content_type="application/json", **bearer(secret))
    # Past the token's refusal, the input's: a contract needs its territory.
    assert answer.status_code == 400
    assert "territory" in answer.json()["errors"]


def test_the_service_refuses_a_nameless_token_an_unknown_lifetime_and_someone_elses_revocation():
    agent = factories.epci_agent("200000172")
    with pytest.raises(InvalidInput) as nameless:
        tokens.token_create(actor=agent, name="  ", lifetime_days=30, read_only=True)
    assert nameless.value.field_errors == {"name": [nameless.value.message]}
    with pytest.raises(InvalidInput):
        tokens.token_create(actor=agent, name="Outil", lifetime_days=3650, read_only=True)
    with pytest.raises(InvalidInput):
        tokens.token_create(actor=agent, name="Outil\u202e", lifetime_days=30, read_only=True)
    assert not ApiToken.objects.exists()
    token, _ = tokens.token_create(actor=agent, name="Outil", lifetime_days=30, read_only=True)
    with pytest.raises(ActionForbidden):
        tokens.token_revoke(token=token, actor=factories.ministry_agent())
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_profile_page_shows_a_new_token_once_and_revokes_after_asking(client):
    agent = factories.epci_agent("200000172")
    client.force_login(agent)
    created = client.post(
        reverse("token-list"), {"name": "Tableur", "lifetime": "90", "read_only": "on"}
    )
    assert created.status_code == 200
    token = ApiToken.objects.get(user=agent)
    secret = created.context["secret"]
    assert tokens.digest_of(secret) == token.digest
    assert secret in created.content.decode()
    again = client.get(reverse("token-list"))
    assert secret not in again.content.decode()
    assert token.prefix in again.content.decode()
    asked = client.post(reverse("token-revoke", args=[token.pk]))
    assert asked.status_code == 200 and "Révoquer le jeton" in asked.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None
    client.post(reverse("token-revoke", args=[token.pk]), {"confirm": "1"})
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_the_profile_page_keeps_the_input_of_a_refused_form(client):
    client.force_login(factories.epci_agent("200000172"))
    refused = client.post(reverse("token-list"), {"name": "Mon outil", "lifetime": "7"})
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "Choisissez une durée de validité de la liste." in page
    assert 'value="Mon outil"' in page
    assert not ApiToken.objects.exists()


def test_someone_elses_token_is_a_404_on_the_profile_page(client):
    token, _ = tokens.token_create(
        actor=factories.ministry_agent(), name="Outil", lifetime_days=30, read_only=True
    )
    client.force_login(factories.epci_agent("200000172"))
    answer = client.post(reverse("token-revoke", args=[token.pk]), {"confirm": "1"})
    assert answer.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
