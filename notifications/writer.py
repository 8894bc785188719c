"""Writes the notification rows of an announced event, in its transaction, and pushes them to
the recipients once it commits.

A group of announcements (``cases.kernel.hooks.grouped``: a wave's validation) tells each recipient
once for the whole group, naming their own cases in it: one numbering statement, one insert,
one e-mail task and one push for the group, however many contracts it holds. Told once per
contract, a wave of 150 contracts wrote about 103,000 rows and took 26 of its 36 seconds.
"""

from functools import partial

from django.db import connection, transaction
from django.urls import reverse

from cases.kernel.french import NBSP, count_fr
from cases.kernel.hooks import CaseAnnouncement
from notifications import delivery
from notifications.emails import enqueue_instant
from notifications.models import Notification, NotificationSequence
from notifications.recipients import recipients, recipients_of_each

TEXT_LENGTH: int = Notification._meta.get_field("text").max_length or 300


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
    text, link = text_for(announcement), case.get_absolute_url()
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


def on_case_events(announcements: list[CaseAnnouncement]) -> None:
    """A group of announcements: one notification per recipient, for the cases of the group
    they are told of. Its case and event are the recipient's first ones."""
    told: dict[int, list[CaseAnnouncement]] = {}
    for announcement, users in zip(announcements, recipients_of_each(announcements), strict=True):
        for user in users:
            told.setdefault(user, []).append(announcement)
    rows: list[Notification] = []
    if told:
        numbers = next_numbers(list(told))
        # Recipients told of the same cases (a Region's reviewers, the agents of one EPCI)
        # read the same text and link: each is composed once.
        composed: dict[tuple[int, ...], tuple[str, str]] = {}
        pending = []
        for user in sorted(told):
            own = told[user]
            key = tuple(announcement.event.pk for announcement in own)
            if key not in composed:
                composed[key] = (group_text(own), group_link(own))
            text, link = composed[key]
            first = own[0]
            pending.append(
                Notification(
                    recipient_id=user,
                    seq=numbers[user],
                    case=first.case,
                    event=first.event,
                    kind=first.event.name,
                    text=text,
                    link=link,
                    created_at=first.event.created_at,
                )
            )
        rows = Notification.objects.bulk_create(pending)
    messages = [(row.recipient_id, delivery.frame_of(row.as_message())) for row in rows]
    transaction.on_commit(group_pusher(messages, announcements), robust=True)
    enqueue_instant([row.pk for row in rows])


def group_pusher(messages: list, announcements: list[CaseAnnouncement]):
    """One push for the group: every recipient's row, and a nudge to the watchers of each case
    of the group (private only for a case all of whose events in the group are private)."""
    cases = list(dict.fromkeys(announcement.case.pk for announcement in announcements))
    public = {a.case.pk for a in announcements if not a.event.private}
    private = {case for case in cases if case not in public}
    return partial(delivery.push, messages, cases, private=private)


def group_link(own: list[CaseAnnouncement]) -> str:
    """The one case, or the wave's page when there are several: every party to one of its
    contracts may open it (``selectors.waves_for_user``), and reads only its own there."""
    wave = own[0].event.payload.get("wave")
    if len(own) == 1 or wave is None:
        return own[0].case.get_absolute_url()
    return reverse("wave-detail", args=[wave])


def group_text(own: list[CaseAnnouncement]) -> str:
    """« Vague « Nom » validée : TI-2026-0001, TI-2026-0002 et 12 autres contractualisés »,
    within the text's 300 characters; outside a wave, as for one event, with every case."""
    first = own[0]
    wave_name = first.event.payload.get("wave_name")
    references = [announcement.case.reference or "" for announcement in own]
    if wave_name is None:
        if len(own) == 1:
            return text_for(first)
        head, tail = "", f"{NBSP}: {first.event.label.lower()}"
    else:
        head = f"Vague «{NBSP}{wave_name}{NBSP}» validée{NBSP}: "
        tail = f" {_contractualised(own)}"
    named = _named(references, TEXT_LENGTH - len(head) - len(tail))
    return f"{head}{named}{tail}"[:TEXT_LENGTH]


def _contractualised(own: list[CaseAnnouncement]) -> str:
    # Agreed with the cases: a contract (un contrat) is masculine, a derogation feminine; a
    # mixed list takes the masculine.
    feminine = all(announcement.case.kind == "derogation" for announcement in own)
    return "contractualisé" + ("e" if feminine else "") + ("s" if len(own) > 1 else "")


def _named(references: list[str], room: int) -> str:
    """As many references as fit in ``room`` characters, the others counted: « A, B et
    3 autres ». At least the first one, the caller cutting the text if even it does not fit."""

    def counted(shown: int) -> str:
        rest = len(references) - shown
        return f" et {count_fr(rest, 'autre')}" if rest else ""

    fits, length = 1, 0
    for shown, reference in enumerate(references, start=1):
        length += len(reference) + (2 if shown > 1 else 0)
        if length + len(counted(shown)) > room:
            break
        fits = shown
    return ", ".join(references[:fits]) + counted(fits)
