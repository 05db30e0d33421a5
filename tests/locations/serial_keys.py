"""Serial numbers in any alphabet compared through one key, on whatever database runs it:
`python -m tests.locations.serial_keys` with DATABASE_URL naming a new SQLite file migrates it,
writes the cases below and prints as JSON what each lookup found
(tests/locations/test_serial_keys.py runs the same cases on PostgreSQL in the suite)."""

import json
import os

# (registered as, typed or scanned as): the same serial in another case.
SPELLINGS = [
    ("Caméra-01", "CAMÉRA-01"),
    ("сн-2001", "СН-2001"),
    ("ΣΝ-03", "σν-03"),
    ("ünit-4", "ÜNIT-4"),
    ("C222-ABC", "c222-abc"),
]
# Corrected from, to: the former serial (in the other case) still finds the device.
CORRECTION = ("élan-9", "ÉLAN-9-A")


def cases() -> dict:
    """Register the devices; what every lookup finds by the other spelling."""
    from django.core.exceptions import ValidationError

    from locations import codes
    from locations.models import Device
    from locations.serials import device_serial_correct, devices_by_serial, matching_serial
    from locations.services import device_register

    registered = {
        given: device_register(serial_number=given, registered_by=None) for given, _ in SPELLINGS
    }
    typed = [other for _given, other in SPELLINGS]
    found = devices_by_serial(typed)
    result = {
        "by_serial": {
            other: found[other.upper()].serial_number for other in typed if other.upper() in found
        },
        "matching": {
            other: list(
                Device.objects.filter(matching_serial(other)).values_list(
                    "serial_number", flat=True
                )
            )
            for other in typed
        },
        "scanned": {other: str(codes.resolve(other).obj) for other in typed},
        "second_refused": {},
        "full_clean_refused": {},
    }
    for other in typed:
        try:
            device_register(serial_number=other, registered_by=None)
            result["second_refused"][other] = False
        except ValidationError:
            result["second_refused"][other] = True
        try:
            Device(serial_number=other).full_clean()
            result["full_clean_refused"][other] = False
        except ValidationError:
            result["full_clean_refused"][other] = True
    from tests.factories import AdminFactory

    admin = AdminFactory()
    old, new = CORRECTION
    device = device_register(serial_number=old, registered_by=None)
    device_serial_correct(device=device, serial_number=new, reason="typo at registration", by=admin)
    former = devices_by_serial([old.upper()]).get(old.upper())
    result["former_finds"] = former.serial_number if former else None
    try:
        device_register(serial_number=old.upper(), registered_by=None)
        result["former_refused"] = False
    except ValidationError:
        result["former_refused"] = True
    result["count"] = Device.objects.count()
    result["registered"] = len(registered)
    return result


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(json.dumps(cases()))
