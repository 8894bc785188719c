"""Request-wide guards: each answers one kind of bad request the same way on every page."""

from urllib.parse import urlsplit

from django.conf import settings
from django.db import OperationalError, connection
from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme

# PostgreSQL's codes for "lock not obtained within lock_timeout" and "statement cancelled",
# the latter raised by statement_timeout.
TIMEOUT_SQLSTATES = {"55P03", "57014"}
BUSY_MESSAGE = "Le dossier est occupé : réessayez dans un instant. Rien n'a été modifié."


def wants_json(request) -> bool:
    # As cases.views.wants_json: a browser's Accept always names text/html too.
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


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
        except OperationalError:
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
