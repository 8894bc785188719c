"""The chained audit logs: appending an event to its owner's chain, and checking a chain.

One implementation serves every chain (a case's ``CaseEvent``, a wave's ``WaveEvent``):
each event model declares, as a ``ChainedEvent``, its owner and the fields its hash covers.
The thin names below (``append_event``, ``verify_wave``…) are what the rest of the code calls.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, cast

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from cases.kernel.models import Case, CaseEvent, ChainedEvent

GENESIS = "0" * 64


class Owner(Protocol):
    """What owns a chain (a case, a wave): ``event_count`` and ``audit_head``, the chain's
    length and last hash, saved by the caller with the rest of the owner's row."""

    pk: Any
    event_count: int
    audit_head: str


def normalise(payload: dict) -> dict:
    """What the JSON column will give back, so that the hash is computed on the same data."""
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def chain_hash(model: type[ChainedEvent], event: ChainedEvent) -> str:
    """The hash of ``event`` in a chain of ``model``'s events. Only the hashed fields'
    attributes are read (a foreign key's by its ``_id``), so seed_scale can hash the plain
    rows it writes with COPY."""
    content = {}
    for name in model.hashed_fields:
        # The hashed fields are the model's own columns, never a reverse relation.
        field = cast(models.Field, model._meta.get_field(name))
        value = getattr(event, field.attname)
        if isinstance(value, datetime):
            # The instant, whatever zone it came in: the database gives it back in UTC.
            value = value.astimezone(UTC).isoformat()
        content[name] = value
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def append[E: ChainedEvent](owner: Owner, model: type[E], **fields) -> E:
    """Append an event of ``model`` to ``owner``'s chain. The caller holds the owner's row
    lock and saves ``event_count`` and ``audit_head``, which this advances on the instance."""
    event = model(
        **{model.chain_owner: owner},
        seq=owner.event_count + 1,
        prev_hash=owner.audit_head or GENESIS,
        **fields,
    )
    for field in model._meta.concrete_fields:
        if isinstance(field, models.JSONField):
            setattr(event, field.attname, normalise(getattr(event, field.attname)))
    event.hash = chain_hash(model, event)
    event.save()
    owner.event_count, owner.audit_head = event.seq, event.hash
    return event


@dataclass
class ChainBreak:
    """The first broken link of a chain, named for verify_audit's message."""

    owner: Owner
    model: type[ChainedEvent]
    event: ChainedEvent | None
    reason: str

    def __str__(self) -> str:
        where = f"événement n°{self.event.seq} (id {self.event.pk})" if self.event else "fin"
        return f"{self.model.owner_label.format(owner=self.owner)} : {where} : {self.reason}"


def verify(owner: Owner, model: type[ChainedEvent]) -> ChainBreak | None:
    """The first broken link of ``owner``'s chain of ``model`` events, or None if it holds."""
    previous = GENESIS
    expected_seq = 1
    last = None
    events = model._default_manager.filter(**{model.chain_owner: owner}).order_by("seq", "pk")
    for event in events.iterator():
        if event.seq != expected_seq:
            reason = f"numéro {expected_seq} attendu (événement manquant ?)"
            return ChainBreak(owner, model, event, reason)
        if event.prev_hash != previous:
            reason = "ne suit pas l'événement précédent (ordre modifié ?)"
            return ChainBreak(owner, model, event, reason)
        if chain_hash(model, event) != event.hash:
            return ChainBreak(owner, model, event, "contenu modifié (empreinte incorrecte)")
        previous = event.hash
        expected_seq += 1
        last = event
    if owner.event_count != expected_seq - 1 or (owner.audit_head or GENESIS) != previous:
        announced = f"{model.owner_noun} annonce {owner.event_count} événement(s)"
        return ChainBreak(owner, model, last, f"{announced} : fin de chaîne supprimée")
    return None


# The cases' chains.


def event_hash(event: CaseEvent) -> str:
    return chain_hash(CaseEvent, event)


def append_event(
    case: Case,
    *,
    kind: str,
    actor,
    name: str = "",
    from_state: str = "",
    to_state: str = "",
    comment: str = "",
    private: bool = False,
    payload: dict | None = None,
    at=None,
) -> CaseEvent:
    return append(
        case,
        CaseEvent,
        kind=kind,
        name=name,
        actor=actor,
        created_at=at or timezone.now(),
        from_state=from_state,
        to_state=to_state,
        comment=comment,
        private=private,
        payload=payload or {},
    )


def verify_case(case: Case) -> ChainBreak | None:
    return verify(case, CaseEvent)
