"""The chained audit log: appending an event, and checking a case's chain."""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from cases.models import Case, CaseEvent, Wave, WaveEvent

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
    return _digest(content)


def _digest(content: dict) -> str:
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


# The waves' chains: the same construction, on the wave's own events.


def wave_event_hash(event: WaveEvent) -> str:
    return _digest(
        {
            "wave": event.wave_id,
            "seq": event.seq,
            "name": event.name,
            "actor": event.actor_id,
            "created_at": event.created_at.astimezone(UTC).isoformat(),
            "payload": event.payload,
            "prev_hash": event.prev_hash,
        }
    )


def append_wave_event(wave: Wave, *, name: str, actor, payload: dict, at) -> WaveEvent:
    """As ``append_event``: the caller holds the wave's lock and saves its chain head."""
    event = WaveEvent(
        wave=wave,
        seq=wave.event_count + 1,
        name=name,
        actor=actor,
        created_at=at,
        payload=normalise(payload),
        prev_hash=wave.audit_head or GENESIS,
    )
    event.hash = wave_event_hash(event)
    event.save()
    wave.event_count, wave.audit_head = event.seq, event.hash
    return event


def verify_wave(wave: Wave) -> str | None:
    """What is wrong with the wave's chain, in French, or None if it holds."""
    previous, expected = GENESIS, 1
    for event in WaveEvent.objects.filter(wave=wave).order_by("seq", "pk").iterator():
        where = f"Vague « {wave} » : événement n°{event.seq} (id {event.pk})"
        if event.seq != expected:
            return f"{where} : numéro {expected} attendu (événement manquant ?)"
        if event.prev_hash != previous:
            return f"{where} : ne suit pas l'événement précédent (ordre modifié ?)"
        if wave_event_hash(event) != event.hash:
            return f"{where} : contenu modifié (empreinte incorrecte)"
        previous, expected = event.hash, expected + 1
    if wave.event_count != expected - 1 or (wave.audit_head or GENESIS) != previous:
        return f"Vague « {wave} » : fin de chaîne supprimée"
    return None
