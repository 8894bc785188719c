"""Before Django reads a body (its ASGI handler spools it all to disk), a body past the upload
limit is refused: announced too big, it is not read at all; streamed, it is cut off."""

import asyncio
import socket

import pytest
from django.core.handlers.asgi import ASGIHandler
from django.db import connection

from cases.kernel.uploads import MAX_REQUEST_SIZE
from config.middleware import RequestBodyLimit
from tests import factories
from tests.support import uvicorn_server

CHUNK = 1024 * 1024


def http_scope(path="/contrats/CT-2026-0001/documents/", **headers):
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5000),
        "headers": [
            (b"host", b"127.0.0.1"),
            *((name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()),
        ],
    }


def drive(app, scope, chunks: int):
    """Run ``app`` on a body of ``chunks`` MiB; return what it sent and how much it read."""
    read = {"chunks": 0}
    sent = []

    async def receive():
        if read["chunks"] < chunks:
            read["chunks"] += 1
            return {"type": "http.request", "body": b"0" * CHUNK, "more_body": True}
        await asyncio.sleep(3600)  # the client waits for the answer

    async def send(message):
        sent.append(message)

    async def run():
        await asyncio.wait_for(app(scope, receive, send), timeout=60)

    asyncio.run(run())
    return sent, read["chunks"]


def status_and_body(sent) -> tuple[int, str]:
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body.decode()


def test_an_announced_oversize_body_is_refused_unread():
    called = []

    async def inner(scope, receive, send):
        called.append(scope)

    scope = http_scope(content_length=str(MAX_REQUEST_SIZE + 1), referer="http://127.0.0.1/x/")
    sent, read = drive(RequestBodyLimit(inner), scope, chunks=30)
    status, body = status_and_body(sent)
    assert (status, read, called) == (413, 0, [])
    assert "Le fichier dépasse la taille maximale de 21,0 Mo." in body
    assert 'href="/x/"' in body


def test_a_streamed_body_is_cut_off_at_the_limit_before_django_spools_the_rest():
    scope = http_scope(transfer_encoding="chunked")
    sent, read = drive(RequestBodyLimit(ASGIHandler()), scope, chunks=100)
    status, body = status_and_body(sent)
    assert status == 413
    assert "taille maximale de 21,0 Mo" in body
    assert read == MAX_REQUEST_SIZE // CHUNK + 1


def test_an_ordinary_request_goes_through_untouched():
    seen = []

    async def inner(scope, receive, send):
        seen.append(await receive())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    scope = http_scope(content_length=str(3 * CHUNK))
    sent, read = drive(RequestBodyLimit(inner), scope, chunks=3)
    assert read >= 1
    assert status_and_body(sent)[0] == 204
    assert seen[0]["body"] == b"0" * CHUNK


def test_a_foreign_referer_is_not_the_way_back():
    async def inner(scope, receive, send):
        raise AssertionError("not reached")

    scope = http_scope(content_length=str(MAX_REQUEST_SIZE + 1), referer="http://evil.example/")
    status, body = status_and_body(drive(RequestBodyLimit(inner), scope, chunks=0)[0])
    assert status == 413
    assert "evil.example" not in body


@pytest.mark.django_db(transaction=True)
def test_the_served_application_refuses_a_huge_upload_at_once(reference_data):
    """Even logged out: under uvicorn the body was written to disk before the login check."""
    contract = factories.contract_in_state("draft", actions=0)
    with uvicorn_server(connection.settings_dict["NAME"]) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
            client.sendall(
                f"POST /contrats/{contract.reference}/documents/ HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\n"
                "Content-Type: multipart/form-data; boundary=x\r\n"
                "Content-Length: 10000000000\r\n\r\n".encode()
            )
            answer = b""
            while b"</html>" not in answer:
                data = client.recv(65536)
                if not data:
                    break
                answer += data
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert "taille maximale de 21,0 Mo" in body.decode()
