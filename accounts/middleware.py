"""Each web request reads a user's memberships once (accounts.actors)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from accounts.actors import actors_read_once


def actors_read_once_per_request(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        with actors_read_once():
            return get_response(request)

    return middleware
