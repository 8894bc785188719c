import csv
from pathlib import Path

from django.db import migrations, models

# The file as bundled when this migration was written; later changes come through
# load_reference_data, which checks them.
TERRITORIES = Path(__file__).resolve().parent.parent / "data" / "territoires_industrie_2020.csv"


def fill_departements(apps, schema_editor):
    Territory = apps.get_model("territories", "Territory")
    with TERRITORIES.open(encoding="utf-8-sig", newline="") as handle:
        codes = {row["code_ti"]: row["codes_departements"] for row in csv.DictReader(handle)}
    for territory in Territory.objects.filter(code__in=codes):
        territory.departements = codes[territory.code]
        territory.save(update_fields=["departements"])


class Migration(migrations.Migration):
    dependencies = [
        ("territories", "0002_ascii_digit_codes_and_french_labels"),
    ]

    operations = [
        migrations.AddField(
            model_name="territory",
            name="departements",
            field=models.CharField(blank=True, max_length=60, verbose_name="départements"),
        ),
        migrations.RunPython(fill_departements, migrations.RunPython.noop),
    ]
