"""Serial numbers are compared by a stored key (`locations.fields.code_key`: stripped, Python's
capitals) instead of the database's UPPER, which SQLite applies to ASCII letters only: a serial
with an accented letter was matched differently by each database and by the code."""

from django.db import migrations, models

import locations.fields


def fill_keys(apps, schema_editor):
    for name in ("Device", "DeviceAlias"):
        model = apps.get_model("locations", name)
        owners: dict[str, str] = {}
        batch = []
        rows = model.objects.order_by("pk").only("pk", "serial_number").iterator(chunk_size=2000)
        for row in rows:
            row.serial_key = locations.fields.code_key(row.serial_number)
            if row.serial_key in owners:
                raise RuntimeError(
                    f"Serial numbers {owners[row.serial_key]!r} and {row.serial_number!r} are one "
                    "serial ignoring case: correct one of them before upgrading."
                )
            owners[row.serial_key] = row.serial_number
            batch.append(row)
            if len(batch) == 2000:
                model.objects.bulk_update(batch, ["serial_key"])
                batch = []
        model.objects.bulk_update(batch, ["serial_key"])


class Migration(migrations.Migration):
    dependencies = [
        ("locations", "0010_device_aliases"),
    ]

    operations = [
        migrations.AddField(
            model_name="device",
            name="serial_key",
            field=locations.fields.CodeKeyField(max_length=200, source="serial_number"),
        ),
        migrations.AddField(
            model_name="devicealias",
            name="serial_key",
            field=locations.fields.CodeKeyField(max_length=200, source="serial_number"),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop, elidable=True),
        migrations.RemoveConstraint(
            model_name="device",
            name="device_serial_number_unique_ignoring_case",
        ),
        migrations.RemoveConstraint(
            model_name="devicealias",
            name="device_alias_serial_number_unique_ignoring_case",
        ),
        migrations.AddConstraint(
            model_name="device",
            constraint=models.UniqueConstraint(
                fields=("serial_key",),
                name="device_serial_key_unique",
                violation_error_message="A device with this serial number already exists.",
            ),
        ),
        migrations.AddConstraint(
            model_name="devicealias",
            constraint=models.UniqueConstraint(
                fields=("serial_key",),
                name="device_alias_serial_key_unique",
                violation_error_message="Another device was once registered under this serial.",
            ),
        ),
    ]
