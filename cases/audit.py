"""The chained audit log: appending an event, and checking a case's chain."""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from cases.models import Case, CaseEvent

GENESIS = "0" * 64


def normalise(payload: dict) -> dict:
    """What the JSON column will give back, so that the hash is computed on the same data."""
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def event_hash(event: CaseEvent) -> str:
    content = {
        "case": event.case_id,
        "seq": event.seq,
        "kind": event.kind,
        "name": event.name,
        "actor": event.actor_id,
        "created_at": event.created_at.astimezone(UTC).isoformat(),
        "from_state": event.from_state,
        "to_state": event.to_state,
        "comment": event.comment,
        "private": event.private,
        "payload": event.payload,
        "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


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
    """Append an event to ``case``'s chain. The caller holds the case's row lock and saves
    ``event_count`` and ``audit_head``, which this function advances on the instance."""
    event = CaseEvent(
        case=case,
        seq=case.event_count + 1,
        kind=kind,
        name=name,
        actor=actor,
        created_at=at or timezone.now(),
        from_state=from_state,
        to_state=to_state,
        comment=comment,
        private=private,
        payload=normalise(payload or {}),
        prev_hash=case.audit_head or GENESIS,
    )
    event.hash = event_hash(event)
    event.save()
    case.event_count = event.seq
    case.audit_head = event.hash
    return event


@dataclass
class ChainBreak:
    case: Case
    event: CaseEvent | None
    reason: str

    def __str__(self) -> str:
        where = f"événement n°{self.event.seq} (id {self.event.pk})" if self.event else "fin"
        return f"Dossier {self.case} : {where} : {self.reason}"


def verify_case(case: Case) -> ChainBreak | None:
    """The first broken link of ``case``'s chain, or None if the chain holds."""
    previous = GENESIS
    expected_seq = 1
    last = None
    for event in CaseEvent.objects.filter(case=case).order_by("seq", "pk").iterator():
        if event.seq != expected_seq:
            return ChainBreak(case, event, f"numéro {expected_seq} attendu (événement manquant ?)")
        if event.prev_hash != previous:
            return ChainBreak(case, event, "ne suit pas l'événement précédent (ordre modifié ?)")
        if event_hash(event) != event.hash:
            return ChainBreak(case, event, "contenu modifié (empreinte incorrecte)")
        previous = event.hash
        expected_seq += 1
        last = event
    if case.event_count != expected_seq - 1 or (case.audit_head or GENESIS) != previous:
        return ChainBreak(
            case,
            last,
            f"le dossier annonce {case.event_count} événement(s) : fin de chaîne supprimée",
        )
    return None
