from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("incidents", "0012_employee_language")]

    operations = [
        migrations.AddField(
            model_name="legacyimport",
            name="attempt",
            field=models.PositiveIntegerField(default=0, verbose_name="attempt"),
        ),
        migrations.AddField(
            model_name="legacyimport",
            name="queued_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="queued at"),
        ),
        migrations.AddField(
            model_name="legacyimport",
            name="task_id",
            field=models.CharField(blank=True, max_length=64, verbose_name="background task"),
        ),
    ]
