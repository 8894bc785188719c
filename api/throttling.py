from typing import TYPE_CHECKING

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

if TYPE_CHECKING:
    # Only for the annotations: rest_framework.views reads the settings that name this module.
    from rest_framework.views import APIView


class PerToken(SimpleRateThrottle):
    """A budget per token (and per user for the browser's session): one busy tool cannot
    starve the others of the same user."""

    scope = "token"

    def get_cache_key(self, request: Request, view: "APIView") -> str | None:
        token = request.auth
        if token is not None and hasattr(token, "pk"):
            return self.cache_format % {"scope": self.scope, "ident": f"token-{token.pk}"}
        if request.user and request.user.is_authenticated:
            return self.cache_format % {"scope": self.scope, "ident": f"user-{request.user.pk}"}
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
