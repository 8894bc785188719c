"""Subscribing, rotating a secret, replaying, pausing, resuming and deleting: what an
organisation's référent may do.

There is no administrator role on a membership (accounts.Role): the closest notion is the
membership's ``lead`` flag, « référent » of the organisation, which these services require.
"""

import base64
import secrets
from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Organisation, User
from api.webhooks import addresses
from api.webhooks.models import EventType, WebhookMessage, WebhookSubscription
from cases.kernel.services import ActionForbidden, InvalidInput, check_plain_text

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
# How long deliveries are signed with the old secret too, after a rotation: time for the
# receiver to install the new one.
ROTATION_GRACE = timedelta(hours=24)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def organisations_led_by(user: User) -> QuerySet[Organisation]:
    if not user.is_authenticated or not user.is_active:
        return Organisation.objects.none()
    return Organisation.objects.filter(memberships__user=user, memberships__lead=True).distinct()


def subscriptions_for_user(user: User) -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.filter(
        organisation__in=organisations_led_by(user)
    ).select_related("organisation", "owner")


def require_referent(actor: User, organisation: Organisation) -> None:
    if not organisations_led_by(actor).filter(pk=organisation.pk).exists():
        raise ActionForbidden("Seuls les référents de l'organisation gèrent ses webhooks.")


def checked_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        raise InvalidInput("Indiquez l'adresse qui recevra les messages.", field="url")
    if len(url) > 500:
        raise InvalidInput("L'adresse dépasse 500 caractères.", field="url")
    try:
        addresses.resolve(url)
    except addresses.UnsafeUrl as refused:
        raise InvalidInput(str(refused), field="url") from refused
    return url


def checked_event_types(event_types: list[str]) -> list[str]:
    known = [kind for kind in EventType.values if kind in set(event_types)]
    if not event_types:
        raise InvalidInput("Choisissez au moins un type d'événement.", field="event_types")
    if len(known) != len(set(event_types)):
        raise InvalidInput("Choisissez les événements dans la liste.", field="event_types")
    return known


def subscription_create(
    *,
    actor: User,
    organisation: Organisation,
    url: str,
    event_types: list[str],
    description: str = "",
) -> tuple[WebhookSubscription, str]:
    """The new subscription and its secret, shown once."""
    require_referent(actor, organisation)
    description = (description or "").strip()
    check_plain_text(description=description)
    url, kinds = checked_url(url), checked_event_types(event_types)
    secret = new_secret()
    subscription = WebhookSubscription.objects.create(
        organisation=organisation,
        owner=actor,
        url=url,
        description=description[:100],
        event_types=kinds,
        secret=secret,
    )
    return subscription, secret


def secret_rotate(
    *, subscription: WebhookSubscription, actor: User, now: datetime | None = None
) -> str:
    """The new secret, shown once; the old one still signs for ``ROTATION_GRACE``."""
    require_referent(actor, subscription.organisation)
    now = now or timezone.now()
    secret = new_secret()
    with transaction.atomic():
        locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        locked.previous_secret, locked.previous_secret_until = locked.secret, now + ROTATION_GRACE
        locked.secret = secret
        locked.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
    return secret


def replay_start(subscription: WebhookSubscription, wanted: str) -> WebhookMessage:
    """The message named by its webhook-id (msg_…), or the first one of an event, by the
    event id the payloads carry (data.case.event.id)."""
    wanted = (wanted or "").strip()
    messages = subscription.messages.order_by("pk")
    if wanted.isdigit() and len(wanted) < 19:
        start = messages.filter(event_id=int(wanted)).first()
    else:
        start = messages.filter(public_id=wanted).first()
    if start is None:
        raise InvalidInput(
            f"Aucun message « {wanted[:40]} » pour cet abonnement : indiquez l'identifiant "
            "d'un message (msg_…) du journal des envois, ou le numéro d'un événement.",
            field="message_id",
        )
    return start


def replay_from(*, subscription: WebhookSubscription, actor: User, message_id: str) -> int:
    """Send again this message and every later one of the subscription, in order, with the
    same webhook-id (a receiver that kept them drops them again). Re-enables a subscription
    disabled after its failures: replaying says the receiver is back. Returns their count."""
    require_referent(actor, subscription.organisation)
    start = replay_start(subscription, message_id)
    now = timezone.now()
    with transaction.atomic():
        locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        count = WebhookMessage.objects.filter(subscription=locked, pk__gte=start.pk).update(
            delivered_at=None, attempts=0, next_attempt_at=now
        )
        if not locked.active:
            locked.active, locked.disabled_at = True, None
            locked.save(update_fields=["active", "disabled_at"])
        enqueue_on_commit(locked.pk)
    return count


def enqueue_on_commit(subscription_id: int) -> None:
    # Imported here: delivery imports httpx, which the pages never need otherwise.
    from api.webhooks.delivery import enqueue_deliveries

    transaction.on_commit(partial(enqueue_deliveries, [subscription_id]), robust=True)


def subscription_pause(
    *, subscription: WebhookSubscription, actor: User, now: datetime | None = None
) -> bool:
    """Stop sending; the outbox keeps its messages, resuming sends them in order. A message
    being sent at that moment still goes. Returns whether it was not paused yet."""
    require_referent(actor, subscription.organisation)
    with transaction.atomic():
        locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        if locked.paused_at is not None:
            return False
        locked.paused_at = now or timezone.now()
        locked.save(update_fields=["paused_at"])
    subscription.paused_at = locked.paused_at
    return True


def subscription_resume(
    *, subscription: WebhookSubscription, actor: User, now: datetime | None = None
) -> int:
    """Send again: clears the pause and re-enables a subscription disabled after its
    failures, then sends what waits, in order, from the first message not delivered, now
    and with a fresh count of retries. Returns the count of messages waiting."""
    require_referent(actor, subscription.organisation)
    now = now or timezone.now()
    with transaction.atomic():
        locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        if locked.sending:
            # Nothing to resume; resetting the queue now could make a sender send again the
            # message it is sending (delivery.record).
            return locked.messages.filter(delivered_at__isnull=True).count()
        waiting = WebhookMessage.objects.filter(subscription=locked, delivered_at__isnull=True)
        count = waiting.update(attempts=0, next_attempt_at=now)
        locked.active, locked.disabled_at, locked.paused_at = True, None, None
        locked.save(update_fields=["active", "disabled_at", "paused_at"])
        enqueue_on_commit(locked.pk)
    subscription.active, subscription.disabled_at, subscription.paused_at = True, None, None
    return count


def subscription_delete(*, subscription: WebhookSubscription, actor: User) -> None:
    """Its messages and their attempts go with it (CASCADE). A sender in the middle of a send
    finds it gone at its next step and stops."""
    require_referent(actor, subscription.organisation)
    with transaction.atomic():
        locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        locked.delete()
