"""A trigram index for finding devices by their hardware version ("EVT3") in the device list's
search, on PostgreSQL, as 0004 made for the other searched columns."""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS device_hardware_version_trgm ON locations_device "
        "USING gin (upper(hardware_version::text) gin_trgm_ops)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS device_hardware_version_trgm")


class Migration(migrations.Migration):
    dependencies = [("locations", "0006_device_kinds")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
