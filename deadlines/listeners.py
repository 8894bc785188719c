"""What deadlines does when a case moves, called by cases' hook inside the transition's
transaction: the clock follows, and a submission is acknowledged."""

from cases.kernel.hooks import CaseAnnouncement
from cases.models import CaseEvent
from deadlines.acknowledgement import acknowledge
from deadlines.clocks import SUBMIT, refresh


def on_case_event(announcement: CaseAnnouncement) -> None:
    event = announcement.event
    if event.kind != CaseEvent.Kind.TRANSITION:
        return
    # The service writes the case's row after its listeners (cases.kernel.services.record_event):
    # the due date goes out with it, not in an UPDATE of its own.
    state = refresh(announcement.case, write_due_date=False)
    if event.name == SUBMIT and state is not None and state.rule is not None:
        acknowledge(announcement.case, event, announcement.actor, state.rule, state)
