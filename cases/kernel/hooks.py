"""How ``cases`` tells the rest of the product what happened, without importing it.

Other apps (workflows, notifications) register a callable at start-up. Services call
``announce`` inside their transaction, after the audit event is written, so that what the
listeners write commits or rolls back with the transition.

A service that makes many announcements in one step (a wave's validation contractualises
every contract of the wave) opens ``grouped()`` around them. Each listener still hears each
announcement at once, unless it registered a ``grouped`` handler too: that one is called once,
at the end of the group and still inside the transaction, with all the group's announcements.
Notifications do so, to tell each party once for the wave rather than once per contract.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from cases.kernel.models import Case, CaseEvent


@dataclass(frozen=True)
class CaseAnnouncement:
    case: Case
    event: CaseEvent
    actor: object
    extra: dict = field(default_factory=dict)


Listener = Callable[[CaseAnnouncement], None]
GroupHandler = Callable[[list[CaseAnnouncement]], None]

_listeners: list[Listener] = []
_group_handlers: dict[Listener, GroupHandler] = {}
# The announcements of the group being made, if one is open (a context variable: each thread
# and each task has its own).
_open_group: ContextVar[list[CaseAnnouncement] | None] = ContextVar(
    "case_announcement_group", default=None
)


def register(listener: Listener, *, grouped: GroupHandler | None = None) -> None:
    if listener not in _listeners:
        _listeners.append(listener)
    if grouped is not None:
        _group_handlers[listener] = grouped


def listeners() -> tuple[Listener, ...]:
    return tuple(_listeners)


@contextmanager
def listeners_replaced(replacement: list[Listener]) -> Iterator[None]:
    """Only ``replacement`` hears what is announced inside, for a measurement or a test that
    must tell the listeners' share apart. A replacement has no grouped handler: inside a
    group it hears each announcement at once."""
    saved = _listeners[:]
    _listeners[:] = replacement
    try:
        yield
    finally:
        _listeners[:] = saved


def announce(announcement: CaseAnnouncement) -> None:
    group = _open_group.get()
    for listener in list(_listeners):
        if group is None or listener not in _group_handlers:
            listener(announcement)
    if group is not None:
        group.append(announcement)


@contextmanager
def grouped() -> Iterator[None]:
    """Hand the announcements made inside to the grouped handlers at the end, in one list.
    A group opened inside another joins it. If the block raises, no grouped handler runs:
    the transaction rolls back with what the others wrote."""
    if _open_group.get() is not None:
        yield
        return
    group: list[CaseAnnouncement] = []
    token = _open_group.set(group)
    try:
        yield
    finally:
        _open_group.reset(token)
    if group:
        for listener in list(_listeners):
            handler = _group_handlers.get(listener)
            if handler is not None:
                handler(list(group))
