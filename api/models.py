"""Personal API tokens: each acts as the user who made it, with that user's scope."""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from cases.kernel.models import PLAIN_TEXT


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField("nom", max_length=100, validators=PLAIN_TEXT)
    # The token's first characters, shown in the list so that its owner knows which is which;
    # the token itself is shown once, at creation, and only its digest is kept.
    prefix = models.CharField("début du jeton", max_length=16, unique=True)
    digest = models.CharField(max_length=64, unique=True)
    read_only = models.BooleanField("lecture seule", default=True)
    created_at = models.DateTimeField("créé le", default=timezone.now)
    expires_at = models.DateTimeField("expire le")
    revoked_at = models.DateTimeField("révoqué le", null=True, blank=True)
    last_used_at = models.DateTimeField("dernière utilisation", null=True, blank=True)

    class Meta:
        verbose_name = "jeton d'accès à l'API"
        verbose_name_plural = "jetons d'accès à l'API"
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now


# The webhooks' models live in their own package; imported here so that Django sees them.
from api.webhooks.models import WebhookAttempt, WebhookMessage, WebhookSubscription  # noqa: E402, F401
