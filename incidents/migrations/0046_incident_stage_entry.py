"""The incident list sorted by time in stage or by deadline, open and closed incidents alike:
its first page read from an index instead of sorting every incident."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("incidents", "0045_incident_search_characters")]

    operations = [
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(fields=["stage_entered_at"], name="incident_stage_entry"),
        ),
    ]
