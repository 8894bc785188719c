"""Request-wide guards: each answers one kind of bad request the same way on every page."""

from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, OperationalError, connection
from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from cases.kernel.uploads import MAX_REQUEST_SIZE, too_big_message
from cases.kernel.views import wants_json

# PostgreSQL's codes for "lock not obtained within lock_timeout", "statement cancelled" (by
# statement_timeout), "deadlock detected" and "serialization failure": each time the
# request's transaction has rolled back whole, and trying again is the answer.
TIMEOUT_SQLSTATES = {"55P03", "57014", "40P01", "40001"}
BUSY_MESSAGE = "Le dossier est occupé : réessayez dans un instant. Rien n'a été modifié."


class RefuseNulInPathMiddleware:
    """PostgreSQL text cannot hold NUL: a ``%00`` in a URL segment that reaches a lookup is a
    DataError (a 500). No page has such an address, so it is not found, before any view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path_info:
            raise Http404
        return self.get_response(request)


class DatabaseTimeoutMiddleware:
    """Bound every web request's locks and statements, so that one stuck transaction cannot
    stall every request queued behind it; a request that hits a bound is told, in French, that
    the case is busy (its transaction has rolled back).

    Set on the request's connection and reset after it: management commands and the worker,
    which run long statements on purpose, never pass here."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        bounded = connection.vendor == "postgresql"
        if bounded:
            self._set(settings.DB_LOCK_TIMEOUT_MS, settings.DB_STATEMENT_TIMEOUT_MS)
        try:
            return self.get_response(request)
        finally:
            if bounded:
                self._reset()

    @staticmethod
    def _set(lock_ms: int, statement_ms: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, false),"
                " set_config('statement_timeout', %s, false)",
                [f"{lock_ms}ms", f"{statement_ms}ms"],
            )

    @staticmethod
    def _reset() -> None:
        # The connection may be closed already (end of request) or its transaction aborted
        # (the request's error): then there is nothing left to reset.
        if connection.connection is None or connection.needs_rollback:
            return
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout; RESET statement_timeout")
        except DatabaseError:
            # Never hide the request's own error behind this one.
            pass

    def process_exception(self, request, exception):
        if not is_timeout(exception):
            return None
        if wants_json(request):
            return JsonResponse({"error": BUSY_MESSAGE}, status=503)
        response = render(request, "503.html", {"back": back_url(request)}, status=503)
        response["Retry-After"] = "5"
        return response


def is_timeout(exception: BaseException) -> bool:
    """Django wraps psycopg's LockNotAvailable and QueryCanceled in its OperationalError."""
    if not isinstance(exception, OperationalError):
        return False
    return getattr(exception.__cause__, "sqlstate", None) in TIMEOUT_SQLSTATES


class MethodNotAllowedPageMiddleware:
    """Django answers a GET on a POST-only address with an empty 405: show a French page
    with a way back instead, keeping the Allow header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not isinstance(response, HttpResponseNotAllowed) or response.content:
            return response
        allow = response["Allow"]
        if wants_json(request):
            page = JsonResponse({"error": "Cette adresse ne s'ouvre pas ainsi."}, status=405)
        else:
            page = render(request, "405.html", {"back": back_url(request)}, status=405)
        page["Allow"] = allow
        return page


def back_url(request) -> str:
    """Where the user came from when it is this site, else the nearest page above this one."""
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        parts = urlsplit(referer)
        if parts.path != request.path:
            return parts.path + (f"?{parts.query}" if parts.query else "")
    return parent_page(request.path)


def parent_page(path: str) -> str:
    """The closest address above ``path`` that is a page (/contrats/X/decision/ → /contrats/X/)."""
    segments = [segment for segment in path.split("/") if segment]
    while len(segments) > 1:
        segments.pop()
        candidate = "/" + "/".join(segments) + "/"
        try:
            resolve(candidate)
        except Resolver404:
            continue
        return candidate
    return reverse("home")


class RequestBodyLimit:
    """Refuse a request body past the upload limit before Django reads it: Django's ASGI
    handler spools the whole body to a temporary file before any middleware or view, so
    without this anyone, even logged out, could fill the disk with one request.

    A body announced too big (Content-Length) is not read at all; a streamed one is cut off
    as soon as it passes the limit. Either gets the French 413 page."""

    def __init__(self, inner, limit: int = MAX_REQUEST_SIZE):
        self.inner = inner
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.inner(scope, receive, send)
        if announced_length(scope) > self.limit:
            return await refuse_too_big(scope, send)
        received = 0
        cut_off = False

        async def limited_receive():
            nonlocal received, cut_off
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    # Django drops a request whose client went away, and answers nothing.
                    cut_off = True
                    return {"type": "http.disconnect"}
            return message

        await self.inner(scope, limited_receive, send)
        if cut_off:
            await refuse_too_big(scope, send)


def announced_length(scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def same_site_referer(scope) -> str:
    headers = dict(scope.get("headers", []))
    host = headers.get(b"host", b"").decode("latin-1")
    referer = headers.get(b"referer", b"").decode("latin-1")
    scheme, _, rest = referer.partition("://")
    if scheme in {"http", "https"} and host and rest.split("/", 1)[0] == host:
        return "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    return "/"


async def refuse_too_big(scope, send) -> None:
    page = await sync_to_async(render_to_string)(
        "413.html", {"message": too_big_message(), "back": same_site_referer(scope)}
    )
    body = page.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
