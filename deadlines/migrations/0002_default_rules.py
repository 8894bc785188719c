from django.db import migrations

from deadlines.defaults import create_default_rules


def create_defaults(apps, schema_editor):
    create_default_rules(apps.get_model("deadlines", "DeadlineRule"))


class Migration(migrations.Migration):
    dependencies = [("deadlines", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
