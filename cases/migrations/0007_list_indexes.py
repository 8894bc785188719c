from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("cases", "0006_operators_france_travail")]

    operations = [
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["updated_at", "id"], name="case_updated_id_idx"),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["submitted_at"], name="case_submitted_idx"),
        ),
        migrations.AddIndex(
            model_name="financingline",
            index=models.Index(fields=["funder", "status"], name="line_funder_status_idx"),
        ),
    ]
