"""Webhook subscriptions, their outbox and the log of each delivery attempt."""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Organisation
from cases.kernel.models import PLAIN_TEXT


class EventType(models.TextChoices):
    TRANSITION = "case.transition", "Changements d'état des dossiers"
    COMMENT = "case.comment", "Commentaires"
    DECISION = "derogation.decision", "Décisions sur les demandes de dérogation"
    WAVE = "wave.validated", "Validations des vagues de contractualisation"
    FINANCING = "financing.commitment", "Réponses des financeurs (engagements)"
    SIGNATURE = "contract.signature", "Signatures des contrats et de leurs avenants"
    VERSION = "contract.version", "Nouvelles versions des contrats (avenants signés)"


# The subscriptions the sender delivers: neither disabled after failures nor paused.
SENDING = models.Q(active=True, paused_at__isnull=True)


class WebhookSubscription(models.Model):
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
        verbose_name="organisation",
    )
    # The référent who made it: the subscription sees the cases they see (like an API token
    # acts as its user), through the one scoping rule of cases.kernel.selectors.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="créé par",
    )
    url = models.CharField("adresse de réception", max_length=500)
    description = models.CharField("description", max_length=100, blank=True, validators=PLAIN_TEXT)
    event_types = models.JSONField("événements", default=list)
    # Kept in clear: an HMAC is computed with the secret itself, a digest would not sign.
    secret = models.CharField(max_length=100)
    # During a rotation, deliveries carry a signature with each secret until this date.
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField("actif", default=True)
    # A worker delivering this subscription's messages holds it until then (delivery.claim).
    sending_until = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField("désactivé le", null=True, blank=True)
    # Paused by a référent: distinct from ``active=False`` (disabled by the sender after the
    # last failed retry). Either way its messages keep queueing; nothing is sent until
    # resumed (or, when disabled, replayed).
    paused_at = models.DateTimeField("suspendu le", null=True, blank=True)
    created_at = models.DateTimeField("créé le", default=timezone.now)

    class Meta:
        verbose_name = "abonnement webhook"
        verbose_name_plural = "abonnements webhook"
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.url

    @property
    def sending(self) -> bool:
        """Whether the sender may deliver its messages now."""
        return self.active and self.paused_at is None

    @property
    def state(self) -> str:
        """« actif », « suspendu » or « désactivé »; a paused subscription that was also
        disabled reads as paused: resuming clears both."""
        if self.paused_at is not None:
            return "suspendu"
        return "actif" if self.active else "désactivé"

    def event_labels(self) -> list[str]:
        labels = dict(EventType.choices)
        return [labels.get(kind, kind) for kind in self.event_types]

    def secrets(self, now: datetime) -> list[str]:
        """The secrets a delivery is signed with now: the current one, and the previous one
        during its grace period."""
        grace = self.previous_secret_until
        if self.previous_secret and grace is not None and grace > now:
            return [self.secret, self.previous_secret]
        return [self.secret]


class WebhookMessage(models.Model):
    """One outbox row: one event for one subscription, delivered once it answered 2xx."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="messages"
    )
    # The webhook-id header: the same on every attempt and replay, so receivers dedupe on it.
    public_id = models.CharField("identifiant", max_length=40, unique=True)
    event_type = models.CharField("type", max_length=40)
    event = models.ForeignKey(
        "cases.CaseEvent", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # The exact JSON text that is signed and sent: every attempt sends the same bytes.
    body = models.TextField()
    created_at = models.DateTimeField("créé le")
    delivered_at = models.DateTimeField("livré le", null=True, blank=True)
    attempts = models.PositiveSmallIntegerField("essais", default=0)
    next_attempt_at = models.DateTimeField("prochain essai")

    class Meta:
        verbose_name = "message webhook"
        ordering = ["pk"]
        indexes = [
            models.Index(
                fields=["subscription", "id"],
                condition=models.Q(delivered_at__isnull=True),
                name="webhook_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.event_type}"


class WebhookAttempt(models.Model):
    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField("date")
    status_code = models.PositiveSmallIntegerField("code HTTP", null=True, blank=True)
    latency_ms = models.PositiveIntegerField("durée (ms)", default=0)
    error = models.CharField("erreur", max_length=300, blank=True)
    ok = models.BooleanField("réussi", default=False)

    class Meta:
        verbose_name = "essai de livraison"
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.message_id} {self.status_code or self.error}"
