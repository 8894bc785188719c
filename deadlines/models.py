import re

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from cases.models import CallForProjects, Case


class Silence(models.TextChoices):
    ACCEPTANCE = "acceptance", "Acceptation (le silence vaut accord)"
    REJECTION = "rejection", "Rejet (le silence vaut refus)"
    NONE = "none", "Aucun effet"


class Unit(models.TextChoices):
    MONTHS = "months", "mois"
    CALENDAR_DAYS = "calendar_days", "jours calendaires"
    WORKING_DAYS = "working_days", "jours ouvrés"


class OnChanges(models.TextChoices):
    PAUSE = "pause", "Le délai est suspendu, puis reprend au nouveau dépôt"
    RESTART = "restart", "Le délai recommence entier au nouveau dépôt"


def reminder_offsets(value: str) -> list[int]:
    """« 15,5,1 » -> [15, 5, 1]: days before the due date, largest first."""
    return sorted({int(part) for part in value.split(",") if part.strip()}, reverse=True)


def validate_reminders(value: str) -> None:
    if not re.fullmatch(r"\s*\d{1,3}(\s*,\s*\d{1,3})*\s*", value or ""):
        raise ValidationError(
            "Indiquez des nombres de jours séparés par des virgules, par exemple « 15,5,1 »."
        )
    if 0 in reminder_offsets(value):
        raise ValidationError("Un rappel se fait au moins un jour avant l'échéance.")


class DeadlineRule(models.Model):
    """What the law and the programme give to answer a case: the effect of silence, its
    period, and the internal target of each stage. One rule per case kind, and optionally
    one per call for projects (derogation requests), which then prevails."""

    kind = models.CharField("type de dossier", max_length=12, choices=Case.Kind.choices)
    call = models.ForeignKey(
        CallForProjects,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deadline_rules",
        verbose_name="appel à projets",
        help_text="Vide : la règle de tous les dossiers de ce type.",
    )
    silence = models.CharField("effet du silence", max_length=12, choices=Silence.choices)
    period = models.PositiveSmallIntegerField("délai légal")
    unit = models.CharField("unité du délai", max_length=14, choices=Unit.choices)
    on_changes = models.CharField("demande de compléments", max_length=8, choices=OnChanges.choices)
    regional_days = models.PositiveSmallIntegerField("instruction régionale (jours ouvrés)")
    ministerial_days = models.PositiveSmallIntegerField("validation ministérielle (jours ouvrés)")
    reminders = models.CharField(
        "rappels (jours avant l'échéance)",
        max_length=40,
        default="15,5,1",
        validators=[validate_reminders],
    )

    class Meta:
        verbose_name = "règle de délai"
        verbose_name_plural = "règles de délai"
        constraints = [
            models.UniqueConstraint(
                fields=["kind"], condition=Q(call__isnull=True), name="one_rule_per_kind"
            ),
            models.UniqueConstraint(
                fields=["kind", "call"], condition=Q(call__isnull=False), name="one_rule_per_call"
            ),
            models.CheckConstraint(condition=Q(period__gt=0), name="rule_period_positive"),
        ]

    def __str__(self) -> str:
        scope = f" — {self.call}" if self.call_id else ""
        return f"{Case.Kind(self.kind).label}{scope} : {self.period} {self.get_unit_display()}"

    @property
    def offsets(self) -> list[int]:
        return reminder_offsets(self.reminders)

    def stage_days(self, stage: str) -> int | None:
        return {
            "regional_review": self.regional_days,
            "ministerial_review": self.ministerial_days,
        }.get(stage)


class Clock(models.Model):
    """Where a case stands against its rule, kept by ``deadlines.clocks`` after each of its
    transitions, so that lists sort on it and the scheduler reads only what is due."""

    case = models.OneToOneField(
        Case, on_delete=models.CASCADE, primary_key=True, related_name="clock"
    )
    rule = models.ForeignKey(DeadlineRule, on_delete=models.PROTECT, related_name="+")
    received_on = models.DateField("reçu le")
    # Each pause as [first day, day it ended] (ISO dates; the end None while it lasts).
    pauses = models.JSONField(default=list)
    # The period's last day as counted, and the day it gives once moved off a weekend or a
    # public holiday (the same day when it falls on a working day).
    legal_end_on = models.DateField("fin du délai légal", null=True)
    legal_due_on = models.DateField("échéance légale", null=True)
    stage = models.CharField("étape", max_length=20, blank=True)
    stage_started_on = models.DateField("étape commencée le", null=True)
    # The number of the audit event that entered the stage: what a reminder is sent for.
    stage_entry = models.PositiveIntegerField(null=True)
    stage_due_on = models.DateField("échéance de l'étape", null=True)
    # The nearest running date (stage or legal, moved to a working day): what lists sort on.
    due_on = models.DateField("échéance", null=True)
    # The first day on which the scheduler has something to send for this case.
    next_reminder_on = models.DateField(null=True)

    class Meta:
        verbose_name = "délai d'un dossier"
        verbose_name_plural = "délais des dossiers"
        indexes = [
            models.Index(
                fields=["next_reminder_on"],
                condition=Q(next_reminder_on__isnull=False),
                name="clock_reminder_due",
            ),
            models.Index(fields=["due_on"], name="clock_due_on"),
        ]

    def __str__(self) -> str:
        return f"Délai de {self.case_id}"


class Reminder(models.Model):
    """A reminder or an escalation sent, once: its key says for which stage entry and which
    offset, so that a second worker or a restart finds it already there."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(max_length=20)
    # The audit event that entered the stage (its number in the case's chain): a stage
    # entered again, even the same day, is a new entry with reminders of its own. For an
    # opinion (stage "opinion"), the opinion's id.
    stage_entry = models.PositiveIntegerField()
    # "J-15", "J-5", "J-1", or "retard-1" (the Region's leads), "retard-2" (the ministry).
    step = models.CharField(max_length=12)
    due_on = models.DateField()
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case", "stage", "stage_entry", "step"], name="one_reminder_per_step"
            )
        ]

    def __str__(self) -> str:
        return f"{self.step} {self.case_id}"


class Acknowledgement(models.Model):
    """The acknowledgement of receipt of one submission, as the PDF given to the applicant.
    Its bytes are kept in the database, written in the submission's own transaction (a
    rolled-back submission leaves no acknowledgement behind); their hash is in the case's
    audit chain."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField("reçu le")
    silence_on = models.DateField("date à laquelle le silence vaut décision", null=True)
    content = models.BinaryField()
    sha256 = models.CharField("SHA-256", max_length=64)

    class Meta:
        verbose_name = "accusé de réception"
        verbose_name_plural = "accusés de réception"
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return f"Accusé de réception {self.case_id} du {self.received_at:%Y-%m-%d}"
