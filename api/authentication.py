"""``Authorization: Bearer ti_…``: the request acts as the token's user, with that user's scope."""

from typing import TYPE_CHECKING

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from accounts.models import User
from api import tokens
from api.models import ApiToken

if TYPE_CHECKING:
    # Only for the annotations: rest_framework.views reads the settings that name this module.
    from rest_framework.views import APIView

KEYWORD = b"bearer"


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed(
                "En-tête Authorization mal formé : attendu « Bearer <jeton> »."
            )
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("Jeton invalide.") from None
        token = tokens.token_for(secret)
        if token is None:
            raise AuthenticationFailed("Jeton invalide, expiré ou révoqué.")
        tokens.note_use(token)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # A 401, not a 403, for a call without credentials: the client knows what to send.
        return 'Bearer realm="api"'


class TokenAllowsWrites(BasePermission):
    """A read-only token reads; any other way in (a read-write token, the browser's session)
    goes on to the services, which decide."""

    message = "Ce jeton est en lecture seule : il ne peut rien modifier."

    def has_permission(self, request: Request, view: "APIView") -> bool:
        token = request.auth
        if request.method in SAFE_METHODS or not isinstance(token, ApiToken):
            return True
        return not token.read_only


def acting_user(request: Request) -> User:
    """The user a request acts as, once IsAuthenticated let it through: never anonymous."""
    user = request.user
    assert isinstance(user, User)
    return user
