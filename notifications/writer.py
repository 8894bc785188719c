"""Writes the notification rows of an announced event, in its transaction, and nudges the
recipients once it commits."""

from functools import partial

from django.db import transaction

from cases.hooks import CaseAnnouncement
from cases.views import case_url
from notifications import delivery
from notifications.models import Notification
from notifications.recipients import recipients


def text_for(announcement: CaseAnnouncement) -> str:
    event, case = announcement.event, announcement.case
    actor = event.actor.get_full_name() if event.actor else ""
    by = f" par {actor}" if actor else ""
    return f"{case.reference} : {event.label.lower()}{by}"[:300]


def on_case_event(announcement: CaseAnnouncement) -> None:
    users = recipients(announcement)
    if not users:
        _nudge_case_after_commit(announcement)
        return
    event, case = announcement.event, announcement.case
    text, link = text_for(announcement), case_url(case)
    rows = Notification.objects.bulk_create(
        [
            Notification(
                recipient_id=user,
                case=case,
                event=event,
                kind=event.name,
                text=text,
                link=link,
                created_at=event.created_at,
            )
            for user in users
        ]
    )
    pairs = [(row.pk, row.recipient_id) for row in rows]
    # Separate callbacks: a push that fails (Redis down) must not keep the e-mails back.
    transaction.on_commit(partial(delivery.push, pairs, case.pk), robust=True)
    transaction.on_commit(partial(delivery.enqueue_emails, [pk for pk, _ in pairs]), robust=True)


def _nudge_case_after_commit(announcement: CaseAnnouncement) -> None:
    transaction.on_commit(partial(delivery.push, [], announcement.case.pk), robust=True)
