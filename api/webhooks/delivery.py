"""Delivers the outbox, in order per subscription, by the background worker.

A subscription's next message is not sent before the previous one was accepted (2xx): the
receiver sees its cases' events in the order they happened. A failed message is tried again
with a growing delay over about three days; after the last failure the subscription is
disabled and its organisation's référents are told by e-mail. A subscription paused by a
référent, or disabled, is skipped: its messages wait for its resume or replay.
"""

import functools
import logging
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.tasks import task
from django.utils import timezone
from standardwebhooks import Webhook

from accounts.models import User
from api.webhooks import addresses
from api.webhooks.models import SENDING, WebhookAttempt, WebhookMessage, WebhookSubscription
from cases.kernel import french

logger = logging.getLogger(__name__)

# The wait after each failed attempt: 71 h 35 in all, about three days, then the
# subscription is disabled (len + 1 attempts).
BACKOFF = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
ERROR_LENGTH = 300

SENT, IDLE, WAITING, FAILED = "envoyé", "rien à envoyer", "en attente", "échec"
BUSY, OFF, PAUSED = "occupé", "désactivé", "suspendu"
# When another worker holds the subscription, look again soon: it may have read the queue
# just before a new message committed, and end without it.
BUSY_RETRY = timedelta(seconds=5)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    latency_ms: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def enqueue_deliveries(subscription_ids: list[int]) -> None:
    for subscription_id in subscription_ids:
        deliver_webhooks.enqueue(subscription_id)


def enqueue_due() -> int:
    """A delivery for each sending subscription with a message due: what an action queued just
    before the process stopped (its task is queued after the commit) goes out all the same.
    Run when the worker starts."""
    due = (
        WebhookMessage.objects.filter(
            delivered_at__isnull=True,
            next_attempt_at__lte=timezone.now(),
            subscription__in=WebhookSubscription.objects.filter(SENDING),
        )
        .values_list("subscription_id", flat=True)
        .distinct()
    )
    subscriptions = sorted(set(due))
    enqueue_deliveries(subscriptions)
    return len(subscriptions)


@task()
def deliver_webhooks(subscription_id: int) -> str:
    result = deliver_pending(subscription_id)
    if result == BUSY:
        run_after = timezone.now() + BUSY_RETRY
        deliver_webhooks.using(run_after=run_after).enqueue(subscription_id)
    return result


def deliver_pending(subscription_id: int, *, now: datetime | None = None) -> str:
    """Send the subscription's due messages in order, until one fails or none is left."""
    if not claim(subscription_id):
        return BUSY if sending(subscription_id) else not_sending(subscription_id)
    try:
        while True:
            result = deliver_next(subscription_id, now=now)
            if result != SENT:
                return result
    finally:
        release(subscription_id)


def sending(subscription_id: int) -> bool:
    return WebhookSubscription.objects.filter(SENDING, pk=subscription_id).exists()


def not_sending(subscription_id: int) -> str:
    paused = WebhookSubscription.objects.filter(pk=subscription_id, paused_at__isnull=False)
    return PAUSED if paused.exists() else OFF


def lease() -> timedelta:
    # A send may wait on connecting, writing and reading, each up to the timeout.
    return timedelta(seconds=3 * settings.WEBHOOKS_TIMEOUT_SECONDS + 30)


def claim(subscription_id: int) -> bool:
    """Become the subscription's only sender for a while, by a committed lease rather than a
    row lock held during the HTTP call: a référent rotating the secret or replaying is never
    kept waiting by a slow receiver, and a worker that died frees it when the lease ends.
    Real time, whatever ``now`` the caller plans with."""
    at = timezone.now()
    free = Q(sending_until__isnull=True) | Q(sending_until__lt=at)
    claimed = WebhookSubscription.objects.filter(free, SENDING, pk=subscription_id).update(
        sending_until=at + lease()
    )
    return claimed == 1


def release(subscription_id: int) -> None:
    WebhookSubscription.objects.filter(pk=subscription_id).update(sending_until=None)


def deliver_next(subscription_id: int, *, now: datetime | None = None) -> str:
    # Read again before each message: a pause asked during the previous send stops here.
    subscription = WebhookSubscription.objects.filter(SENDING, pk=subscription_id).first()
    if subscription is None:
        return not_sending(subscription_id)
    head = subscription.messages.filter(delivered_at__isnull=True).order_by("pk").first()
    if head is None:
        return IDLE
    now = now or timezone.now()
    if head.next_attempt_at > now:
        # Its retry is already queued for that time.
        return WAITING
    # Each message gets a whole lease: a long queue never outlives the claim.
    WebhookSubscription.objects.filter(pk=subscription_id).update(
        sending_until=timezone.now() + lease()
    )
    outcome = send(subscription, head)
    with transaction.atomic():
        # The subscription's lock, which subscription_delete takes first too: deleted during
        # the send, its message is gone and there is nothing to log.
        if not WebhookSubscription.objects.select_for_update().filter(pk=subscription_id).exists():
            return OFF
        still_due = record(head, outcome, now)
        if outcome.ok or not still_due:
            return SENT
        retry_or_disable(subscription, head, now)
    return FAILED


def signature_headers(
    subscription: WebhookSubscription, message: WebhookMessage, at: datetime
) -> dict[str, str]:
    signatures = [
        Webhook(secret).sign(message.public_id, at, message.body)
        for secret in subscription.secrets(at)
    ]
    return {
        "webhook-id": message.public_id,
        "webhook-timestamp": str(int(at.timestamp())),
        # Several signatures, space-separated (Standard Webhooks): old and new secret alike.
        "webhook-signature": " ".join(signatures),
    }


def send(subscription: WebhookSubscription, message: WebhookMessage) -> Outcome:
    try:
        target = addresses.resolve(subscription.url)
    except addresses.UnsafeUrl as refused:
        return Outcome(None, 0, str(refused))
    # The signature's time is the real clock's, whatever ``now`` the caller plans with:
    # receivers refuse a timestamp more than five minutes away from theirs.
    headers = signature_headers(subscription, message, datetime.now(tz=UTC))
    headers |= {
        "content-type": "application/json",
        "host": target.host_header,
        "user-agent": "TerritoiresIndustrie-Webhooks/1",
    }
    extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else {}
    started = time.monotonic()
    error: httpx.HTTPError | None = None
    with httpx.Client(
        timeout=settings.WEBHOOKS_TIMEOUT_SECONDS, follow_redirects=False, verify=tls_context()
    ) as http:
        for url in target.urls:
            try:
                status = post(http, url, message.body.encode(), headers, extensions)
            except httpx.ConnectError as refused:
                error = refused  # the next checked address, if any
                continue
            except httpx.HTTPError as failed:
                return Outcome(None, elapsed_ms(started), describe(failed))
            refusal = "" if 200 <= status < 300 else f"Réponse HTTP {status}"
            return Outcome(status, elapsed_ms(started), refusal)
    assert error is not None
    return Outcome(None, elapsed_ms(started), describe(error))


@functools.cache
def tls_context() -> ssl.SSLContext:
    """Built once per process: httpx builds one per client otherwise, loading the whole
    certificate bundle, which cost 35 ms per message (bench.api), most of a delivery."""
    return httpx.create_ssl_context()


def post(http: httpx.Client, url: str, body: bytes, headers: dict, extensions: dict) -> int:
    # Redirects are not followed (they could lead inside); the answer's body is never read:
    # only its status matters.
    with http.stream("POST", url, content=body, headers=headers, extensions=extensions) as response:
        return response.status_code


def elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def describe(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "Délai dépassé : le serveur n'a pas répondu à temps."
    if isinstance(error, httpx.ConnectError):
        return f"Connexion impossible : {error}"[:ERROR_LENGTH]
    return f"Erreur de transport : {error}"[:ERROR_LENGTH]


def record(message: WebhookMessage, outcome: Outcome, now: datetime) -> bool:
    """Logs the attempt; marks the message only if nobody replayed it during the send (a
    replay sets a new ``next_attempt_at``): the replay then stands and it goes again.
    Returns whether the message was still as read."""
    WebhookAttempt.objects.create(
        message=message,
        at=now,
        status_code=outcome.status_code,
        latency_ms=outcome.latency_ms,
        error=outcome.error[:ERROR_LENGTH],
        ok=outcome.ok,
    )
    message.attempts += 1
    if outcome.ok:
        message.delivered_at = now
    as_read = WebhookMessage.objects.filter(
        pk=message.pk, next_attempt_at=message.next_attempt_at, delivered_at__isnull=True
    )
    return as_read.update(attempts=message.attempts, delivered_at=message.delivered_at) == 1


def retry_or_disable(
    subscription: WebhookSubscription, message: WebhookMessage, now: datetime
) -> None:
    if message.attempts >= MAX_ATTEMPTS:
        disable(subscription, now)
        return
    message.next_attempt_at = now + BACKOFF[message.attempts - 1]
    message.save(update_fields=["next_attempt_at"])
    # Queued in the transaction: the database backend commits the task with the schedule.
    deliver_webhooks.using(run_after=message.next_attempt_at).enqueue(subscription.pk)


def disable(subscription: WebhookSubscription, now: datetime) -> None:
    subscription.active, subscription.disabled_at = False, now
    subscription.save(update_fields=["active", "disabled_at"])
    logger.warning("Webhook %s désactivé après %s essais", subscription.pk, MAX_ATTEMPTS)
    tell_disabled.enqueue(subscription.pk)


def referents_of(subscription: WebhookSubscription) -> list[str]:
    return list(
        User.objects.filter(
            is_active=True,
            memberships__organisation=subscription.organisation_id,
            memberships__lead=True,
        )
        .distinct()
        .values_list("email", flat=True)
    )


@task()
def tell_disabled(subscription_id: int) -> str:
    subscription = WebhookSubscription.objects.filter(pk=subscription_id).first()
    if subscription is None:
        return "abonnement supprimé"  # by a référent since: they know
    recipients = referents_of(subscription)
    if not recipients:
        return "personne à prévenir"
    page = f"{settings.SITE_URL}/profil/webhooks/{subscription.pk}/"
    send_mail(
        "[Territoires d'industrie] Webhook désactivé",
        french.typo(
            "Bonjour,\n\nL'adresse de réception "
            f"{subscription.url} n'a accepté aucun message pendant trois jours "
            f"({MAX_ATTEMPTS} essais) : son abonnement est désactivé et plus rien n'y est "
            "envoyé. Rien n'est perdu : les nouveaux événements attendent dans la file."
            "\n\nUne fois le serveur réparé, reprenez les envois (ou rejouez les messages) "
            f"depuis la page de l'abonnement, ce qui le réactive : {page}\n"
        ),
        None,
        recipients,
    )
    return "prévenus"
