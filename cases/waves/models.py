"""Contractualisation waves: contracts signed together, validated in one step."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, FSMModelMixin, transition

from cases.contracts.models import TerritoryContract
from cases.kernel import permissions as perms
from cases.kernel.models import PLAIN_TEXT, ChainedEvent, new_stored_name

# Contractualisation waves.


class WaveState(models.TextChoices):
    PLANNED = "planned", "Prévue"
    VALIDATED = "validated", "Validée"
    CANCELLED = "cancelled", "Annulée"


class Wave(FSMModelMixin, models.Model):
    """Contracts signed together at one national event, validated in one step."""

    name = models.CharField("nom", max_length=200, validators=PLAIN_TEXT)
    date = models.DateField("date")
    place = models.CharField("lieu", max_length=200, validators=PLAIN_TEXT)
    description = models.TextField("description", blank=True, validators=PLAIN_TEXT)
    state = FSMField("état", default=WaveState.PLANNED, choices=WaveState.choices, protected=True)
    version = models.PositiveIntegerField("version", default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("créée le")
    updated_at = models.DateTimeField("modifiée le")
    validated_at = models.DateTimeField("validée le", null=True, blank=True)
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    cancelled_at = models.DateTimeField("annulée le", null=True, blank=True)
    event_count = models.PositiveIntegerField(default=0)
    audit_head = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = "vague de contractualisation"
        verbose_name_plural = "vagues de contractualisation"
        ordering = ["date", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def state_label(self) -> str:
        return str(dict(WaveState.choices).get(self.state, self.state))

    # Validating or cancelling a wave is the ministry's, declared like every case transition's
    # permission; cases.waves asks it (``Transition.has_perm``) before it takes the lock.
    @transition(
        field="state",
        source=WaveState.PLANNED,
        target=WaveState.VALIDATED,
        permission=lambda wave, user: perms.is_ministry_agent(user),
    )
    def validate(self, *, at, actor):
        self.validated_at = at
        self.validated_by = actor

    @transition(
        field="state",
        source=WaveState.PLANNED,
        target=WaveState.CANCELLED,
        permission=lambda wave, user: perms.is_ministry_agent(user),
    )
    def cancel(self, *, at):
        self.cancelled_at = at


class WaveItem(models.Model):
    """A contract in a wave. ``active`` while the wave is planned or validated: a contract
    is in at most one such wave, which the database enforces."""

    wave = models.ForeignKey(Wave, on_delete=models.PROTECT, related_name="items")
    contract = models.ForeignKey(
        TerritoryContract, on_delete=models.PROTECT, related_name="wave_items"
    )
    active = models.BooleanField(default=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    added_at = models.DateTimeField("ajouté le")

    class Meta:
        verbose_name = "contrat de la vague"
        ordering = ["added_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract"],
                condition=Q(active=True),
                name="contract_in_one_wave",
                violation_error_message="Ce contrat est déjà dans une autre vague.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} dans {self.wave_id}"


class WaveEvent(ChainedEvent):
    """The wave's own append-only audit chain, hashed like the cases' chains."""

    chain_owner = "wave"
    hashed_fields = ("wave", "seq", "name", "actor", "created_at", "payload", "prev_hash")
    owner_label = "Vague « {owner} »"
    owner_noun = "la vague"

    wave = models.ForeignKey(Wave, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField("numéro")
    name = models.CharField("action", max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField("date")
    payload = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = "événement de vague"
        ordering = ["wave", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["wave", "seq"], name="unique_wave_event_seq")
        ]

    def __str__(self) -> str:
        return f"{self.wave_id} n°{self.seq} {self.name}"


def wave_document_path(instance: "WaveDocument", filename: str) -> str:
    return f"waves/{instance.wave_id}/{instance.stored_name}"


class WaveDocument(models.Model):
    wave = models.ForeignKey(Wave, on_delete=models.PROTECT, related_name="documents")
    original_name = models.CharField("nom du fichier", max_length=255)
    stored_name = models.CharField(max_length=64, unique=True, default=new_stored_name)
    file = models.FileField(upload_to=wave_document_path, max_length=255)
    content_type = models.CharField("type", max_length=100)
    size = models.PositiveBigIntegerField("taille (octets)")
    sha256 = models.CharField("SHA-256", max_length=64)
    created_at = models.DateTimeField("créé le")

    class Meta:
        verbose_name = "document de vague"

    def __str__(self) -> str:
        return self.original_name
