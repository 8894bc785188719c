"""Creating, finding and revoking personal API tokens.

A token is ``ti_`` followed by 40 random characters (about 238 bits). Only its SHA-256 is
stored: with that much entropy a slow password hash adds nothing, and a lookup by digest
answers in one indexed read.
"""

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from api.models import ApiToken
from cases.kernel.services import ActionForbidden, InvalidInput, check_plain_text

SCHEME = "ti_"
PREFIX_LENGTH = 8
# The lifetimes offered on the profile page, in days, with their label.
LIFETIMES = {30: "30 jours", 90: "90 jours", 365: "1 an"}
# Written at most once a minute per token: a busy client would otherwise write a row per call.
LAST_USE_PRECISION = timedelta(minutes=1)


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(
    *, actor: User, name: str, lifetime_days: int, read_only: bool
) -> tuple[ApiToken, str]:
    """The new token and its secret, which is shown once and never kept."""
    name = name.strip()
    if not name:
        raise InvalidInput("Donnez un nom au jeton, pour le reconnaître ensuite.", field="name")
    check_plain_text(name=name)
    if lifetime_days not in LIFETIMES:
        raise InvalidInput("Choisissez une durée de validité de la liste.", field="lifetime")
    if not actor.is_active:
        raise ActionForbidden("Ce compte est désactivé.")
    secret = SCHEME + secrets.token_urlsafe(30)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=actor,
        name=name[:100],
        prefix=secret[: len(SCHEME) + PREFIX_LENGTH],
        digest=digest_of(secret),
        read_only=read_only,
        created_at=now,
        expires_at=now + timedelta(days=lifetime_days),
    )
    return token, secret


def token_revoke(*, token: ApiToken, actor: User) -> ApiToken:
    if token.user_id != actor.pk:
        # Whose tokens these are is nobody else's business: the page answers 404 first.
        raise ActionForbidden("Ce jeton n'est pas le vôtre.")
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
    return locked


def token_for(secret: str) -> ApiToken | None:
    """The usable token of ``secret``, its user loaded; None if unknown, expired or revoked."""
    if not secret.startswith(SCHEME):
        return None
    token = ApiToken.objects.select_related("user").filter(digest=digest_of(secret)).first()
    if token is None or not token.is_usable() or not token.user.is_active:
        return None
    return token


def note_use(token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USE_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
