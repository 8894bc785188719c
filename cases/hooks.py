"""How ``cases`` tells the rest of the product what happened, without importing it.

Other apps (workflows, notifications) register a callable at start-up. Services call
``announce`` inside their transaction, after the audit event is written, so that what the
listeners write commits or rolls back with the transition.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from cases.models import Case, CaseEvent


@dataclass(frozen=True)
class CaseAnnouncement:
    case: Case
    event: CaseEvent
    actor: object
    extra: dict = field(default_factory=dict)


_listeners: list[Callable[[CaseAnnouncement], None]] = []


def register(listener: Callable[[CaseAnnouncement], None]) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def announce(announcement: CaseAnnouncement) -> None:
    for listener in list(_listeners):
        listener(announcement)
