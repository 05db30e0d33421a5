"""Character indexes over incidents' descriptions and fail items on PostgreSQL (config.kit.search,
INDEXED; locations' 0012_search_characters does devices'): the incident list's search of
"三", "三次" or "TX" read every description, for the page and again for its count."""

from django.db import migrations

INDEXES = {
    "incident_description_chars": ("incidents_incident", "description"),
    "incident_fail_item_chars": ("incidents_incident", "fail_item"),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, column) in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
            f"USING gin (string_to_array(upper({column}::text), NULL))"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0044_dashboard_days"),
        ("locations", "0012_search_characters"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
