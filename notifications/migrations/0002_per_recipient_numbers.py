import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def number_existing(apps, schema_editor):
    """Number the rows already there, per recipient in id order, and record the last."""
    Notification = apps.get_model("notifications", "Notification")
    Sequence = apps.get_model("notifications", "NotificationSequence")
    last: dict[int, int] = {}
    for row in Notification.objects.order_by("pk").only("pk", "recipient_id").iterator():
        last[row.recipient_id] = last.get(row.recipient_id, 0) + 1
        Notification.objects.filter(pk=row.pk).update(seq=last[row.recipient_id])
    Sequence.objects.bulk_create(
        [Sequence(user_id=user, last_seq=seq) for user, seq in last.items()]
    )


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="NotificationSequence",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("last_seq", models.PositiveBigIntegerField(default=0)),
            ],
            options={"verbose_name": "numérotation des notifications"},
        ),
        migrations.AddField(
            model_name="notification",
            name="seq",
            field=models.PositiveBigIntegerField(null=True, verbose_name="numéro"),
        ),
        migrations.RunPython(number_existing, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="notification",
            name="seq",
            field=models.PositiveBigIntegerField(verbose_name="numéro"),
        ),
        migrations.RemoveIndex(
            model_name="notification",
            name="notificatio_recipie_e1f72e_idx",
        ),
        migrations.AddConstraint(
            model_name="notification",
            constraint=models.UniqueConstraint(
                fields=("recipient", "seq"), name="one_number_per_recipient"
            ),
        ),
    ]
