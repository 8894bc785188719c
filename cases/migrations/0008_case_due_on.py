
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0007_list_indexes'),
        ('territories', '0003_territory_departements'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='case',
            name='due_on',
            field=models.DateField(blank=True, editable=False, null=True, verbose_name='réponse attendue le'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(fields=['due_on', 'id'], name='case_due_id_idx'),
        ),
    ]
