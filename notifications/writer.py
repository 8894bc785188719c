"""Writes the notification rows of an announced event, in its transaction, and pushes them to
the recipients once it commits."""

from functools import partial

from django.db import connection, transaction

from cases.french import NBSP
from cases.hooks import CaseAnnouncement
from cases.views import case_url
from notifications import delivery
from notifications.emails import enqueue_instant
from notifications.models import Notification, NotificationSequence
from notifications.recipients import recipients


def text_for(announcement: CaseAnnouncement) -> str:
    event, case = announcement.event, announcement.case
    actor = event.actor.get_full_name() if event.actor else ""
    by = f" par {actor}" if actor else ""
    # What the event was about, when the service says it (e.g. a financing line's funder).
    detail = announcement.extra.get("detail")
    about = f" ({detail})" if detail else ""
    return f"{case.reference}{NBSP}: {event.label.lower()}{about}{by}"[:300]


def next_numbers(users: list[int]) -> dict[int, int]:
    """Each user's next notification number, in one statement. The upsert keeps every row it
    touches locked until commit; taking them in user order keeps two transactions that number
    the same users from deadlocking."""
    ordered = sorted(set(users))
    quote = connection.ops.quote_name
    table, user, last = (
        quote(NotificationSequence._meta.db_table),
        quote("user_id"),
        quote("last_seq"),
    )
    values = ", ".join(["(%s, 1)"] * len(ordered))
    # Only quoted names and placeholders go into the text; the user ids are parameters.
    sql = (
        f"INSERT INTO {table} ({user}, {last}) VALUES {values} "  # noqa: S608
        f"ON CONFLICT ({user}) DO UPDATE SET {last} = {table}.{last} + 1 "
        f"RETURNING {user}, {last}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, ordered)
        return dict(cursor.fetchall())


def on_case_event(announcement: CaseAnnouncement) -> None:
    users = recipients(announcement)
    if not users:
        _nudge_case_after_commit(announcement)
        return
    event, case = announcement.event, announcement.case
    text, link = text_for(announcement), case_url(case)
    numbers = next_numbers(users)
    rows = Notification.objects.bulk_create(
        [
            Notification(
                recipient_id=user,
                seq=numbers[user],
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
    # The push carries each row, as the very text the socket sends, so that a connected client
    # is served without reading it back nor encoding it again; a gap in the numbers makes the
    # consumer read the rows instead.
    messages = [(row.recipient_id, delivery.frame_of(row.as_message())) for row in rows]
    transaction.on_commit(pusher(messages, announcement), robust=True)
    # The e-mail task is written in the transaction, with the rows: it commits with them or not
    # at all, and the worker can only see it once they have. Queued after the commit, it was
    # lost if the process stopped in between, and held a CPU while the push was being served.
    enqueue_instant([row.pk for row in rows])


def _nudge_case_after_commit(announcement: CaseAnnouncement) -> None:
    transaction.on_commit(pusher([], announcement), robust=True)


def pusher(messages: list, announcement: CaseAnnouncement):
    """The push of an event; a private one tells only the case's watchers who may read it."""
    if announcement.event.private:
        return partial(delivery.push, messages, announcement.case.pk, private=True)
    return partial(delivery.push, messages, announcement.case.pk)
