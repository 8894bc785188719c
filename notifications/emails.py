"""E-mails, sent by the background worker after commit, never inside a request.

Each user chooses: every notification, a digest on weekdays, or none. A failed send is tried
again later with a growing delay; it never touches the transition that caused it.
"""

import logging
import smtplib
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from notifications.models import EmailPreference, Notification, NotificationSettings

logger = logging.getLogger(__name__)
PARIS = ZoneInfo("Europe/Paris")
MAX_ATTEMPTS = 5
DIGEST_TIME = time(8, 0)
SEND_ERRORS = (smtplib.SMTPException, OSError)


def preference_of(user) -> str:
    chosen = NotificationSettings.objects.filter(user=user).values_list("email", flat=True)
    return chosen.first() or EmailPreference.INSTANT


def enqueue_instant(notification_ids: list[int]) -> None:
    digest_or_none = NotificationSettings.objects.exclude(email=EmailPreference.INSTANT).values(
        "user_id"
    )
    wanted = Notification.objects.filter(pk__in=notification_ids).exclude(
        recipient__in=digest_or_none
    )
    for notification_id in wanted.values_list("pk", flat=True):
        send_instant_email.enqueue(notification_id)


def retry_delay(attempt: int) -> timedelta:
    base = settings.EMAIL_RETRY_SECONDS
    return timedelta(seconds=min(base * 2 ** (attempt - 1), 600))


@task()
def send_instant_email(notification_id: int, attempt: int = 1) -> str:
    notification = (
        Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    )
    if notification is None or notification.emailed_at is not None:
        return "déjà envoyé"
    user = notification.recipient
    link = f"{settings.SITE_URL}{notification.link}"
    body = (
        f"Bonjour {user.get_full_name() or user.email},\n\n{notification.text}.\n\n"
        f"Voir le dossier : {link}\n\n"
        "Vous recevez ce message parce que vous êtes partie à ce dossier. Vous pouvez "
        "choisir un récapitulatif quotidien, ou aucun courriel, dans vos préférences.\n"
    )
    try:
        send_mail(f"[Territoires d'industrie] {notification.text}", body, None, [user.email])
    except SEND_ERRORS as error:
        return _retry_later(notification_id, attempt, error)
    Notification.objects.filter(pk=notification_id).update(emailed_at=timezone.now())
    return "envoyé"


def _retry_later(notification_id: int, attempt: int, error: Exception) -> str:
    if attempt >= MAX_ATTEMPTS:
        logger.error("Courriel %s abandonné après %s essais : %s", notification_id, attempt, error)
        return "abandonné"
    logger.warning("Courriel %s non envoyé (essai %s) : %s", notification_id, attempt, error)
    run_after = timezone.now() + retry_delay(attempt)
    send_instant_email.using(run_after=run_after).enqueue(notification_id, attempt + 1)
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
    lines = "\n".join(f"- {n.text} : {settings.SITE_URL}{n.link}" for n in pending)
    body = (
        f"Bonjour {user.get_full_name() or user.email},\n\n"
        f"Voici ce qui s'est passé sur vos dossiers :\n\n{lines}\n"
    )
    send_mail(
        f"[Territoires d'industrie] {len(pending)} nouvelle(s) notification(s)",
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
