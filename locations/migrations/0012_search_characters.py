"""Character indexes on PostgreSQL (config.kit.search, INDEXED): GIN over the characters of
devices' upper-cased serial numbers and projects, which the incident list's search asks through
its devices. A term of one or two characters ("三", "TX") has no trigram for the trigram indexes
to look up, so every device was read. SQLite (the embedded mode) has none: its tables are small,
and its search keeps the plain form."""

from django.db import migrations

INDEXES = {
    "device_serial_number_chars": ("locations_device", "serial_number"),
    "device_project_chars": ("locations_device", "project"),
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
    dependencies = [("locations", "0011_serial_key")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
