"""E-mails, sent by the background worker after commit, never inside a request.

Each user chooses: every notification, a digest on weekdays, or none. A failed send is tried
again later with a growing delay; it never touches the transition that caused it.
"""

import logging
import smtplib
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage, get_connection, send_mail
from django.db import transaction
from django.tasks import task
from django.urls import Resolver404, resolve
from django.utils import timezone

from cases.kernel.french import NBSP, count_fr
from notifications.models import EmailPreference, Notification, NotificationSettings

logger = logging.getLogger(__name__)
PARIS = ZoneInfo("Europe/Paris")
MAX_ATTEMPTS = 5
DIGEST_TIME = time(8, 0)
SEND_ERRORS = (smtplib.SMTPException, OSError)
# Older than this, an instant mail not sent is no longer news: the bell keeps it.
UNSENT_WINDOW = timedelta(days=2)


def enqueue_instant(notification_ids: list[int]) -> None:
    """One task for all the notifications of an event: a single insert in its transaction,
    however many are told. Who wants an instant mail is read by the worker, at send time."""
    if notification_ids:
        send_instant_emails.enqueue(notification_ids)


def retry_delay(attempt: int) -> timedelta:
    base = settings.EMAIL_RETRY_SECONDS
    return timedelta(seconds=min(base * 2 ** (attempt - 1), 600))


def leads_to_a_wave(link: str) -> bool:
    """A wave's validation tells each party once, with a link to the wave's page."""
    try:
        return resolve(link).url_name == "wave-detail"
    except Resolver404:
        return False


def instant_message(notification: Notification) -> EmailMessage:
    user = notification.recipient
    link = f"{settings.SITE_URL}{notification.link}"
    if leads_to_a_wave(notification.link):
        see, why = "Voir la vague", "à un dossier de cette vague"
    else:
        see, why = "Voir le dossier", "à ce dossier"
    body = (
        f"Bonjour {user.get_full_name() or user.email},\n\n{notification.text}.\n\n"
        f"{see}{NBSP}: {link}\n\n"
        f"Vous recevez ce message parce que vous êtes partie {why}. Vous pouvez "
        "choisir un récapitulatif quotidien, ou aucun courriel, dans vos préférences.\n"
    )
    return EmailMessage(f"[Territoires d'industrie] {notification.text}", body, None, [user.email])


def _digest_or_none():
    return NotificationSettings.objects.exclude(email=EmailPreference.INSTANT).values("user_id")


def enqueue_unsent(now: datetime | None = None) -> int:
    """At the worker's start, the instant mails of the last days not sent yet, queued again: a
    worker stopped in the middle of a task leaves it « running » for good, and nothing else
    would send them. One already queued meanwhile goes once: the task skips what was sent."""
    since = (now or timezone.now()) - UNSENT_WINDOW
    unsent = list(
        Notification.objects.filter(emailed_at__isnull=True, created_at__gte=since)
        .exclude(recipient__in=_digest_or_none())
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    enqueue_instant(unsent)
    return len(unsent)


@task()
def send_instant_emails(notification_ids: list[int], attempt: int = 1) -> str:
    pending = (
        Notification.objects.filter(pk__in=notification_ids, emailed_at__isnull=True)
        .exclude(recipient__in=_digest_or_none())
        .select_related("recipient")
        .order_by("pk")
    )
    smtp = get_connection()
    try:
        smtp.open()
    except SEND_ERRORS as unreachable:
        return _retry_later([n.pk for n in pending], attempt, unreachable)
    failed: list[int] = []
    error: Exception | None = None
    # One SMTP session for the lot; a refused mail is kept for later, the others go on.
    with smtp:
        for notification in pending:
            try:
                smtp.send_messages([instant_message(notification)])
            except SEND_ERRORS as refused:
                failed.append(notification.pk)
                error = refused
                continue
            Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now())
    if error is not None:
        return _retry_later(failed, attempt, error)
    return "envoyé"


@task()
def send_instant_email(notification_id: int, attempt: int = 1) -> str:
    """A task queued, one per mail, before mails were grouped by event: still sent after an
    upgrade rather than lost with the old name."""
    return send_instant_emails.call([notification_id], attempt)


def _retry_later(notification_ids: list[int], attempt: int, error: Exception) -> str:
    if attempt >= MAX_ATTEMPTS:
        logger.error(
            "Courriels %s abandonnés après %s essais : %s", notification_ids, attempt, error
        )
        return "abandonné"
    logger.warning("Courriels %s non envoyés (essai %s) : %s", notification_ids, attempt, error)
    run_after = timezone.now() + retry_delay(attempt)
    send_instant_emails.using(run_after=run_after).enqueue(notification_ids, attempt + 1)
    return "réessai prévu"


def next_digest_time(after: datetime) -> datetime:
    """The next weekday at 8:00, Paris time, strictly after ``after``."""
    local = after.astimezone(PARIS)
    candidate = datetime.combine(local.date(), DIGEST_TIME, tzinfo=PARIS)
    while candidate <= local or candidate.weekday() >= 5:
        candidate = datetime.combine(
            candidate.date() + timedelta(days=1), DIGEST_TIME, tzinfo=PARIS
        )
    return candidate


def digest_for(user) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, emailed_at__isnull=True).order_by("pk"))


def send_digest(user) -> int:
    """One mail with what the user has not yet been sent; returns how many it lists."""
    pending = digest_for(user)
    if not pending:
        return 0
    lines = "\n".join(f"- {n.text}{NBSP}: {settings.SITE_URL}{n.link}" for n in pending)
    body = (
        f"Bonjour {user.get_full_name() or user.email},\n\n"
        f"Voici ce qui s'est passé sur vos dossiers{NBSP}:\n\n{lines}\n"
    )
    told = count_fr(len(pending), "nouvelle notification", "nouvelles notifications")
    send_mail(
        f"[Territoires d'industrie] {told}",
        body,
        None,
        [user.email],
    )
    Notification.objects.filter(pk__in=[n.pk for n in pending]).update(emailed_at=timezone.now())
    return len(pending)


@task()
def send_digests(attempt: int = 1) -> str:
    failed = 0
    for preference in NotificationSettings.objects.filter(
        email=EmailPreference.DIGEST
    ).select_related("user"):
        try:
            with transaction.atomic():
                send_digest(preference.user)
        except SEND_ERRORS as error:
            failed += 1
            logger.warning("Récapitulatif de %s non envoyé : %s", preference.user, error)
    if failed and attempt < MAX_ATTEMPTS:
        run_after = timezone.now() + retry_delay(attempt)
        send_digests.using(run_after=run_after).enqueue(attempt + 1)
    if attempt == 1:
        schedule_next_digest()
    return f"{failed} échec(s)"


def schedule_next_digest() -> None:
    send_digests.using(run_after=next_digest_time(timezone.now())).enqueue()
