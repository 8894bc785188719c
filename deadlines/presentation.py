"""What a case's clock says to its reader, in French."""

from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from cases.kernel import french
from cases.models import STATE_LABELS, due_status
from deadlines.models import Clock, OnChanges, Silence

WEEKDAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
SILENCE_TEXT = {
    Silence.ACCEPTANCE: "À défaut de réponse à cette date, la demande est réputée acceptée.",
    Silence.REJECTION: "À défaut de réponse à cette date, la demande est réputée rejetée.",
    Silence.NONE: "Le silence de l'administration à cette date n'emporte pas de décision.",
}


def long_date(day: date) -> str:
    """« mercredi 17 juin 2026 »."""
    return f"{WEEKDAYS[day.weekday()]} {french.date_fr(day)}"


def days_left(due: date, today: date) -> str:
    delta = (due - today).days
    if delta > 1:
        return f"dans {french.count_fr(delta, 'jour')}"
    if delta == 1:
        return "demain"
    if delta == 0:
        return "aujourd'hui"
    return f"en retard de {french.count_fr(-delta, 'jour')}"


@dataclass(frozen=True)
class ClockView:
    paused_since: date | None
    restart: bool
    stage_label: str
    stage_due: date | None
    legal_end: date | None
    legal_due: date | None
    silence_text: str
    received_on: date
    pauses: list[tuple[date, date | None]]
    today: date

    @property
    def status(self) -> str:
        dates = [d for d in (self.stage_due, self.legal_due) if d]
        return due_status(min(dates), self.today) if dates else ""

    @property
    def stage_due_text(self) -> str:
        return long_date(self.stage_due) if self.stage_due else ""

    @property
    def stage_left(self) -> str:
        return days_left(self.stage_due, self.today) if self.stage_due else ""

    @property
    def legal_due_text(self) -> str:
        return long_date(self.legal_due) if self.legal_due else ""

    @property
    def legal_left(self) -> str:
        return days_left(self.legal_due, self.today) if self.legal_due else ""

    @property
    def moved_from(self) -> str:
        """The period's own last day, when it fell on a day off and was moved."""
        if self.legal_end and self.legal_due and self.legal_end != self.legal_due:
            return long_date(self.legal_end)
        return ""


def clock_view(clock: Clock, today: date | None = None) -> ClockView:
    pauses = [
        (date.fromisoformat(start), date.fromisoformat(end) if end else None)
        for start, end in clock.pauses
    ]
    open_pause = pauses[-1][0] if pauses and pauses[-1][1] is None else None
    return ClockView(
        paused_since=open_pause,
        restart=clock.rule.on_changes == OnChanges.RESTART,
        stage_label=str(STATE_LABELS.get(clock.stage, clock.stage)).lower(),
        stage_due=clock.stage_due_on,
        legal_end=clock.legal_end_on,
        legal_due=clock.legal_due_on,
        silence_text=SILENCE_TEXT[Silence(clock.rule.silence)],
        received_on=clock.received_on,
        pauses=[pause for pause in pauses if pause[1] is not None],
        today=today or timezone.localdate(),
    )
