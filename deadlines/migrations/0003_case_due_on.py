from django.db import migrations
from django.db.models import OuterRef, Subquery


def copy_due_dates(apps, schema_editor):
    """The cases already under a clock get its due date, which the lists read from the case."""
    Case = apps.get_model("cases", "Case")
    Clock = apps.get_model("deadlines", "Clock")
    Case.objects.filter(clock__isnull=False).update(
        due_on=Subquery(Clock.objects.filter(case=OuterRef("pk")).values("due_on")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [("deadlines", "0002_default_rules"), ("cases", "0008_case_due_on")]

    operations = [migrations.RunPython(copy_due_dates, migrations.RunPython.noop)]
