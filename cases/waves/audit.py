"""The waves' chained audit log, on the kernel's chain (``cases.kernel.audit``)."""

from cases.kernel.audit import ChainBreak, append, chain_hash, verify
from cases.waves.models import Wave, WaveEvent

# The waves' chains.


def wave_event_hash(event: WaveEvent) -> str:
    return chain_hash(WaveEvent, event)


def append_wave_event(wave: Wave, *, name: str, actor, payload: dict, at) -> WaveEvent:
    return append(wave, WaveEvent, name=name, actor=actor, payload=payload, created_at=at)


def verify_wave(wave: Wave) -> ChainBreak | None:
    return verify(wave, WaveEvent)
