"""The app under a real uvicorn: the login page over HTTP, and a WebSocket over Redis."""

import asyncio
import json
import re

import httpx
import pytest
import websockets
from channels.layers import get_channel_layer

from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "mot-de-passe-de-test"


@pytest.fixture
def server(reference_data, module_server):
    return module_server


def log_in(client: httpx.Client, email: str) -> None:
    page = client.get("/connexion/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/connexion/", data={"csrfmiddlewaretoken": token, "username": email, "password": PASSWORD}
    )
    assert response.status_code == 302, response.text[:500]


def test_login_page_and_territories_over_http(server):
    user = factories.epci_agent("200000172")
    page = httpx.get(f"{server}/connexion/")
    assert page.status_code == 200
    assert "Connexion" in page.text and "Territoires d'industrie" in page.text
    static = re.search(r'href="(/static/dsfr/[^"]+\.css)"', page.text).group(1)
    assert httpx.get(f"{server}{static}").status_code == 200
    with httpx.Client(base_url=server, timeout=10) as client:
        log_in(client, user.email)
        home = client.get("/")
        assert home.status_code == 200 and "<h1>Accueil</h1>" in home.text
        territories = client.get("/territoires/")
        assert "Vallée de l&#x27;Arve" in territories.text


async def ws_exchange(server: str, cookies: dict, user_id: int) -> tuple[dict, dict]:
    ws_url = server.replace("http://", "ws://") + "/ws/ping/"
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()), "Origin": server}
    async with websockets.connect(ws_url, additional_headers=headers) as socket:
        await socket.send(json.dumps({"type": "ping"}))
        pong = json.loads(await asyncio.wait_for(socket.recv(), 5))
        # A message sent through Redis from this process reaches the socket served by uvicorn.
        await get_channel_layer().group_send(
            f"user.{user_id}", {"type": "server.message", "text": "via Redis"}
        )
        pushed = json.loads(await asyncio.wait_for(socket.recv(), 5))
    return pong, pushed


def test_authenticated_websocket_ping_and_push_through_redis(server):
    user = factories.epci_agent("200000172")
    with httpx.Client(base_url=server, timeout=10) as client:
        log_in(client, user.email)
        cookies = dict(client.cookies)
    pong, pushed = asyncio.run(ws_exchange(server, cookies, user.pk))
    assert pong == {"type": "pong", "user": user.email}
    assert pushed == {"type": "message", "text": "via Redis"}


async def ws_refused(server: str, headers: dict) -> int:
    ws_url = server.replace("http://", "ws://") + "/ws/ping/"
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with websockets.connect(ws_url, additional_headers=headers):
            pass
    return refused.value.response.status_code


def test_websocket_refuses_anonymous_and_foreign_origin(server):
    user = factories.epci_agent("200000172")
    with httpx.Client(base_url=server, timeout=10) as client:
        log_in(client, user.email)
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    assert asyncio.run(ws_refused(server, {"Origin": server})) == 403
    assert (
        asyncio.run(ws_refused(server, {"Cookie": cookie, "Origin": "http://evil.example"})) == 403
    )
    assert asyncio.run(ws_refused(server, {"Cookie": cookie})) == 403
