"""Notifications are rows first: written in the transaction of the event that causes them,
pushed after commit as a nudge, replayed from here by any client that was away."""

from django.conf import settings
from django.db import models


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name="destinataire",
    )
    case = models.ForeignKey(
        "cases.Case", on_delete=models.CASCADE, related_name="+", verbose_name="dossier"
    )
    event = models.ForeignKey(
        "cases.CaseEvent", on_delete=models.PROTECT, related_name="+", verbose_name="événement"
    )
    # The recipient's own number, 1, 2, 3… with no gap and in commit order (see
    # NotificationSequence): "everything after n" is then exact, which a global id is not
    # when two transactions commit in the opposite order to their ids.
    seq = models.PositiveBigIntegerField("numéro")
    kind = models.CharField("nature", max_length=40)
    text = models.CharField("texte", max_length=300)
    link = models.CharField("lien", max_length=300)
    created_at = models.DateTimeField("créée le")
    read_at = models.DateTimeField("lue le", null=True, blank=True)
    emailed_at = models.DateTimeField("envoyée par courriel le", null=True, blank=True)

    class Meta:
        verbose_name = "notification"
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "seq"], name="one_number_per_recipient")
        ]
        indexes = [
            models.Index(
                fields=["recipient"], condition=models.Q(read_at__isnull=True), name="unread"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient} : {self.text}"

    def as_message(self) -> dict:
        return {
            "id": self.pk,
            "seq": self.seq,
            "case": self.case_id,
            "kind": self.kind,
            "text": self.text,
            "link": self.link,
            "created_at": self.created_at.isoformat(),
            "read": self.read_at is not None,
        }


class NotificationSequence(models.Model):
    """The last number given to a user's notifications. The transaction that numbers one keeps
    this row locked until it commits, so the next number is only given after: numbers commit
    in order and a rolled-back one is given again."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
    )
    last_seq = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = "numérotation des notifications"

    def __str__(self) -> str:
        return f"{self.user} : {self.last_seq}"


class EmailPreference(models.TextChoices):
    INSTANT = "instant", "À chaque notification"
    DIGEST = "digest", "Un récapitulatif chaque jour ouvré"
    NONE = "none", "Jamais"


class NotificationSettings(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    email = models.CharField(
        "courriels",
        max_length=10,
        choices=EmailPreference.choices,
        default=EmailPreference.INSTANT,
    )
    last_digest_on = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = "préférences de notification"

    def __str__(self) -> str:
        return f"{self.user} : {self.get_email_display()}"
