"""Writes the outbox rows of an announced event, in the action's transaction.

Registered with ``cases.kernel.hooks`` by the api app. Each subscription that asked for the
event's type, and whose owner may see the case (and the event, when it is an internal note),
gets one row, whether it is sending, paused or disabled after failures: what happens while it
is not sending waits in the outbox, and goes out in order once it is resumed or replayed.
Delivery is queued once the transaction commits, for the sending ones only.
"""

import json
import secrets
from collections.abc import Iterable
from datetime import datetime
from functools import partial
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from api.webhooks.models import EventType, WebhookMessage, WebhookSubscription
from cases.contracts.models import ContractAmendment
from cases.kernel.hooks import CaseAnnouncement
from cases.kernel.models import CaseEvent
from cases.kernel.selectors import cases_for_user, event_readable

FINANCING_EVENTS = {"financing_commit", "financing_decline"}
FINANCING_FIELDS = ("line", "fiche", "fiche_title", "funder", "requested", "committed")


def event_type_of(event: CaseEvent) -> str | None:
    if event.kind == CaseEvent.Kind.COMMENT:
        return EventType.COMMENT
    if event.name == "decide":
        return EventType.DECISION
    if event.name in FINANCING_EVENTS:
        return EventType.FINANCING
    if event.name == "contractualise" and event.payload.get("wave"):
        return EventType.WAVE
    if event.name == "signature":
        return EventType.SIGNATURE
    if event.name == "new_version":
        return EventType.VERSION
    if event.kind == CaseEvent.Kind.TRANSITION:
        return EventType.TRANSITION
    return None


def new_message_id() -> str:
    return "msg_" + secrets.token_hex(12)


def live_subscriptions() -> QuerySet[WebhookSubscription]:
    """Subscriptions whose owner is still an active référent of their organisation: one who
    left it no longer opens its cases to the subscription. Paused and disabled ones included:
    only the sender skips them, so that nothing is lost meanwhile."""
    return (
        WebhookSubscription.objects.filter(
            owner__is_active=True,
            owner__memberships__organisation=F("organisation"),
            owner__memberships__lead=True,
        )
        .select_related("owner")
        .distinct()
        .order_by("pk")
    )


def subscribed(event_type: str) -> list[WebhookSubscription]:
    # Few subscriptions, a JSON list each: filtered here, the same on SQLite and PostgreSQL.
    return [s for s in live_subscriptions() if event_type in s.event_types]


def sees(subscription: WebhookSubscription, announcement: CaseAnnouncement) -> bool:
    owner, case, event = subscription.owner, announcement.case, announcement.event
    if not cases_for_user(owner).filter(pk=case.pk).exists():
        return False
    # An internal note, or a draft avenant named, goes only where its owner may read it.
    return event_readable(owner, case, event)


def actor_name(event: CaseEvent) -> str:
    return (event.actor.get_full_name() or str(event.actor)) if event.actor else ""


def case_data(announcement: CaseAnnouncement) -> dict:
    case, event = announcement.case, announcement.event
    return {
        "reference": case.reference,
        "kind": case.kind,
        "state": case.state,
        "event": {
            "id": event.pk,
            "seq": event.seq,
            "hash": event.hash,
            "name": event.name,
            "label": event.label,
            "from_state": event.from_state,
            "to_state": event.to_state,
        },
    }


def data_of(announcement: CaseAnnouncement, event_type: str) -> dict:
    event = announcement.event
    data: dict[str, Any] = {"case": case_data(announcement), "actor": actor_name(event)}
    if event_type in (EventType.COMMENT, EventType.TRANSITION, EventType.DECISION):
        data["comment"] = event.comment
    if event_type == EventType.COMMENT:
        data["private"] = event.private
    if event_type == EventType.DECISION:
        data["outcome"] = event.payload.get("outcome", "")
        data["legal_basis"] = event.payload.get("legal_basis", "")
    if event_type == EventType.FINANCING:
        payload = event.payload
        data["financing"] = {name: payload.get(name) for name in FINANCING_FIELDS}
        data["financing"]["action"] = payload.get("action")
        data["financing"]["committed_on"] = payload.get("committed_on")
        data["note"] = event.comment
    if event_type == EventType.SIGNATURE:
        data["signature"] = signature_data(announcement)
    if event_type == EventType.VERSION:
        data["version"] = {
            "contract": announcement.case.reference,
            "number": event.payload.get("version"),
            "amendment": event.payload.get("amendment"),
            "content_hash": event.payload.get("content_hash"),
        }
    return data


def signature_data(announcement: CaseAnnouncement) -> dict:
    """A signature names its contract, even when it is an avenant's (recorded on the avenant's
    own chain, for the version that the avenant will make)."""
    case, payload = announcement.case, announcement.event.payload
    amendment = case if isinstance(case, ContractAmendment) else None
    contract = amendment.parent if amendment is not None else case
    return {
        "contract": contract.reference,
        "amendment": amendment.reference if amendment is not None else None,
        "version": payload.get("version"),
        "party": payload.get("party"),
        "party_ref": payload.get("party_ref"),
        "label": payload.get("label"),
        "signed_on": payload.get("signed_on"),
    }


def body_of(event_type: str, timestamp: datetime, data: dict) -> str:
    document = {"type": event_type, "timestamp": timestamp.isoformat(), "data": data}
    return json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False)


def message(
    subscription: WebhookSubscription, event_type: str, event: CaseEvent, body: str
) -> WebhookMessage:
    now = timezone.now()
    return WebhookMessage(
        subscription=subscription,
        public_id=new_message_id(),
        event_type=event_type,
        event=event,
        body=body,
        created_at=now,
        next_attempt_at=now,
    )


def write(rows: list[WebhookMessage]) -> None:
    if not rows:
        return
    WebhookMessage.objects.bulk_create(rows)
    # Imported here: delivery imports httpx, which the pages and the listeners never need.
    from api.webhooks.delivery import enqueue_deliveries

    # A paused or disabled subscription's rows wait for its resume or replay, which queues
    # its delivery then.
    subscriptions = sorted({row.subscription_id for row in rows if row.subscription.sending})
    if not subscriptions:
        return
    transaction.on_commit(partial(enqueue_deliveries, subscriptions), robust=True)


def on_case_event(announcement: CaseAnnouncement) -> None:
    event_type = event_type_of(announcement.event)
    if event_type is None:
        return
    subscriptions = [s for s in subscribed(event_type) if sees(s, announcement)]
    if not subscriptions:
        return
    event = announcement.event
    body = body_of(event_type, event.created_at, data_of(announcement, event_type))
    write([message(s, event_type, event, body) for s in subscriptions])


def on_case_events(announcements: list[CaseAnnouncement]) -> None:
    """A group (a wave's validation): one ``wave.validated`` per wave and subscription, naming
    the cases of the wave the subscription sees; any other announcement as on its own."""
    waves: dict[int, list[CaseAnnouncement]] = {}
    for announcement in announcements:
        if event_type_of(announcement.event) == EventType.WAVE:
            waves.setdefault(announcement.event.payload["wave"], []).append(announcement)
        else:
            on_case_event(announcement)
    rows: list[WebhookMessage] = []
    for own in waves.values():
        rows.extend(wave_messages(own))
    write(rows)


def wave_messages(own: list[CaseAnnouncement]) -> Iterable[WebhookMessage]:
    first = own[0].event
    by_case = {announcement.case.pk: announcement for announcement in own}
    for subscription in subscribed(EventType.WAVE):
        visible = set(
            cases_for_user(subscription.owner)
            .filter(pk__in=list(by_case))
            .values_list("pk", flat=True)
        )
        if not visible:
            continue
        data = {
            "wave": {"id": first.payload["wave"], "name": first.payload.get("wave_name", "")},
            "actor": actor_name(first),
            "cases": [case_data(by_case[pk]) for pk in sorted(visible)],
        }
        body = body_of(EventType.WAVE, first.created_at, data)
        yield message(subscription, EventType.WAVE, first, body)
