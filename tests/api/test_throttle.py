"""A budget per token: past it, a French 429 with Retry-After; another token is not held back."""

import pytest
from django.core.cache import cache

from api import tokens
from api.throttling import PerToken
from tests import factories

pytestmark = pytest.mark.django_db


def test_past_its_budget_a_token_gets_a_429_and_another_token_goes_on(client, monkeypatch):
    monkeypatch.setattr(PerToken, "THROTTLE_RATES", {"token": "3/min"})
    cache.clear()
    agent = factories.ministry_agent()
    _, busy = tokens.token_create(actor=agent, name="Busy", lifetime_days=30, read_only=True)
    _, other = tokens.token_create(actor=agent, name="Other", lifetime_days=30, read_only=True)

    def call(secret: str):
        return client.get("/api/v1/contracts/", HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert [call(busy).status_code for _ in range(3)] == [200, 200, 200]
    held = call(busy)
    assert held.status_code == 429
    assert held["Content-Type"] == "application/problem+json"
    assert int(held["Retry-After"]) > 0
    assert held.json()["title"] == "Trop de requêtes"
    assert "seconde" in held.json()["detail"]
    assert call(other).status_code == 200
