"""Trigram indexes for the device searches (the device list, the incident list, Ctrl+K) on
PostgreSQL: on `upper(column)`, the expression Django's case-insensitive lookups compare, so a
substring or prefix of a serial number, project or fail item is found without reading every
device. SQLite (the embedded demo) has none: its tables are small."""

from django.db import migrations

COLUMNS = ("serial_number", "project", "fail_item")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS device_{column}_trgm ON locations_device "
            f"USING gin (upper({column}::text) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS device_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [("locations", "0003_device_move_permission")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
