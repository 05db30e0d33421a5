"""A restricted project is matched by its key (locations 0009), not by an upper-cased name:
"Сокол" restricted keeps devices spelled "СОКОЛ" hidden on SQLite, and "Straße" keeps "STRASSE"
hidden on PostgreSQL. Restrictions whose names share a key are one restriction: their
departments and people are joined into the oldest."""

import unicodedata

from django.db import migrations, models


def key(name):
    return unicodedata.normalize("NFKC", name or "").casefold().strip()


def fill(apps, schema_editor):
    ProjectAccess = apps.get_model("incidents", "ProjectAccess")
    alias = schema_editor.connection.alias
    kept = {}
    for access in ProjectAccess.objects.using(alias).order_by("created_at", "pk"):
        first = kept.setdefault(key(access.project), access)
        if first.pk != access.pk:
            first.departments.add(*access.departments.all())
            first.people.add(*access.people.all())
            access.delete()
            continue
        access.project_key = key(access.project)
        access.save(update_fields=["project_key"])


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0031_configchange_device_project"),
        ("locations", "0009_device_project_key"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="projectaccess",
            name="project_access_project_unique",
        ),
        migrations.AddField(
            model_name="projectaccess",
            name="project_key",
            field=models.CharField(default="", editable=False, max_length=200),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
        migrations.AddConstraint(
            model_name="projectaccess",
            constraint=models.UniqueConstraint(
                fields=("project_key",),
                name="project_access_project_key_unique",
                violation_error_message="This project is already restricted.",
            ),
        ),
    ]
