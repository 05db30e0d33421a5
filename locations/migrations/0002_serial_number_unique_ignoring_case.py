"""Serial numbers are unique ignoring case, as the importer and the scan station match them.

Serial numbers already registered that differ only in case stop the migration with a list of
them, before the constraint is added, so they can be renamed or merged first."""

from django.core.management.base import CommandError
from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import Upper


def serial_number_clashes(device_model) -> list[str]:
    """'ABC1 / abc1 (devices 12, 40)' for each group of serial numbers equal but for case."""
    keys = (
        device_model.objects.annotate(key=Upper("serial_number"))
        .values("key")
        .annotate(count=Count("id"))
        .filter(count__gt=1)
        .values_list("key", flat=True)
    )
    clashes = []
    for key in sorted(keys):
        devices = (
            device_model.objects.annotate(key=Upper("serial_number"))
            .filter(key=key)
            .order_by("id")
            .values_list("id", "serial_number")
        )
        serials = " / ".join(serial for _id, serial in devices)
        ids = ", ".join(str(pk) for pk, _serial in devices)
        clashes.append(f"{serials} (devices {ids})")
    return clashes


def check_serial_numbers(apps, schema_editor):
    clashes = serial_number_clashes(apps.get_model("locations", "Device"))
    if clashes:
        raise CommandError(
            "Serial numbers that differ only in case: "
            + "; ".join(clashes)
            + ". Rename or merge them, then migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [("locations", "0001_initial")]

    operations = [
        migrations.RunPython(check_serial_numbers, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="device", name="device_serial_number_unique"),
        migrations.AddConstraint(
            model_name="device",
            constraint=models.UniqueConstraint(
                Upper("serial_number"),
                name="device_serial_number_unique_ignoring_case",
                violation_error_message="A device with this serial number already exists.",
            ),
        ),
    ]
