"""A trigram index for the incident list's search of descriptions on PostgreSQL, on
`upper(description)`, the expression Django's case-insensitive lookups compare. SQLite (the
embedded demo) has none: its tables are small."""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS incident_description_trgm ON incidents_incident "
        "USING gin (upper(description) gin_trgm_ops)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS incident_description_trgm")


class Migration(migrations.Migration):
    dependencies = [("incidents", "0018_department_names_and_coded_system_texts")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
