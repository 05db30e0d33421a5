"""Each device keeps its project's key beside the name (NFKC, case-folded, stripped): the key is
what confidential-project rules compare, the same in Python, SQLite and PostgreSQL (their own
case rules differ: SQLite folds only ASCII, PostgreSQL never turns ß into SS). The key of every
existing device and past version is computed here, once per distinct spelling."""

import unicodedata

from django.db import migrations, models


def key(name):
    return unicodedata.normalize("NFKC", name or "").casefold().strip()


def fill(apps, schema_editor):
    alias = schema_editor.connection.alias
    for name in ("Device", "HistoricalDevice"):
        model = apps.get_model("locations", name)
        rows = model.objects.using(alias)
        for project in rows.values_list("project", flat=True).distinct().order_by():
            rows.filter(project=project).update(project_key=key(project))


class Migration(migrations.Migration):
    dependencies = [("locations", "0008_failure_moved_to_incidents")]

    operations = [
        migrations.AddField(
            model_name="device",
            name="project_key",
            field=models.CharField(blank=True, db_index=True, editable=False, max_length=200),
        ),
        migrations.AddField(
            model_name="historicaldevice",
            name="project_key",
            field=models.CharField(blank=True, db_index=True, editable=False, max_length=200),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
    ]
