from django.db import migrations

# The defaults, documented in the README; staff change them in the admin.
DEFAULTS = [
    {
        # A contract is negotiated: no legal effect of silence; the programme's own targets.
        "kind": "contract",
        "silence": "none",
        "period": 2,
        "unit": "months",
        "on_changes": "pause",
        "regional_days": 30,
        "ministerial_days": 20,
        "opinion_days": 15,
        "reminders": "15,5,1",
    },
    {
        # A request to depart from a rule: silence is a refusal, and an incomplete request's
        # period runs from the day it is complete (code des relations entre le public et
        # l'administration, art. L114-5).
        "kind": "derogation",
        "silence": "rejection",
        "period": 2,
        "unit": "months",
        "on_changes": "restart",
        "regional_days": 20,
        "ministerial_days": 20,
        "opinion_days": 15,
        "reminders": "15,5,1",
    },
]


def create_defaults(apps, schema_editor):
    DeadlineRule = apps.get_model("deadlines", "DeadlineRule")
    for values in DEFAULTS:
        if not DeadlineRule.objects.filter(kind=values["kind"], call__isnull=True).exists():
            DeadlineRule.objects.create(**values)


class Migration(migrations.Migration):
    dependencies = [("deadlines", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
