"""Serial numbers: finding a device by any serial it has had, and correcting one mistyped at
registration.

A serial number names a device on its labels and in its trail, so it is never edited with the
rest of the device: an administrator corrects it (`device_serial_correct`), with a reason, and
the serial it had stays the device's alias (`DeviceAlias`). Scans, searches, the API, the
results of the test stations and re-imports of the legacy workbook find the device by either.
No serial is ever both a device's and another's alias, nor two devices': each correction and
each registration locks the serials it writes (a transaction lock per serial number, ignoring
case) before it checks them, and the database's constraints hold the rest.
"""

import hashlib

from django.contrib.auth.base_user import AbstractBaseUser as Person
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from locations import reasons
from locations.fields import code_key
from locations.models import Device, DeviceAlias
from locations.signals import device_serial_correcting

# The longest reason kept with an alias (its column).
MAX_REASON_LENGTH = DeviceAlias._meta.get_field("reason").max_length
MAX_SERIAL_LENGTH = Device._meta.get_field("serial_number").max_length


def serial_key(serial_number: str) -> str:
    """A serial number as serials are compared: without surrounding space, in capitals (the
    `serial_key` column the unique constraints and the lookups compare)."""
    return code_key(serial_number)


def lock_serials(*serials: str) -> None:
    """Hold, until the transaction ends, a lock on each serial number (ignoring case), in one
    order so two writers never wait for each other. A correction and a registration of the same
    serial then check it one after the other. SQLite (the embedded mode) writes one at a time
    already."""
    if connection.vendor != "postgresql":
        return
    keys = sorted({serial_key(serial) for serial in serials if serial_key(serial)})
    with connection.cursor() as cursor:
        for key in keys:
            # A signed 64-bit number from the serial, the key space of advisory locks.
            digest = hashlib.blake2b(f"serial:{key}".encode(), digest_size=8).digest()
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest, "big", signed=True)]
            )


def alias_owner(serial_number: str) -> DeviceAlias | None:
    """The alias spelled `serial_number` ignoring case, with its device, or None."""
    key = serial_key(serial_number)
    if not key:
        return None
    return DeviceAlias.objects.select_related("device").filter(serial_key=key).first()


def alias_refusal(serial_number: str) -> str | None:
    """Why `serial_number` cannot be a new device's: it is another device's former serial."""
    alias = alias_owner(serial_number)
    if alias is None:
        return None
    return _(
        "%(serial)s is the former serial number of device %(device)s (corrected since); pick "
        "that device instead of registering it again."
    ) % {"serial": alias.serial_number, "device": alias.device.serial_number}


def devices_by_serial(serials, devices: QuerySet | None = None) -> dict[str, Device]:
    """The devices named by `serials`, by their serial or a former one, keyed by each serial
    as given, in capitals; a serial naming no device (among `devices`) is left out."""
    wanted = {serial.upper(): serial_key(serial) for serial in serials if serial_key(serial)}
    if not wanted:
        return {}
    devices = Device.objects.all() if devices is None else devices
    keys = set(wanted.values())
    found = {device.serial_key: device for device in devices.filter(serial_key__in=keys)}
    missing = keys - set(found)
    if missing:
        aliases = DeviceAlias.objects.filter(serial_key__in=missing)
        aliases = dict(aliases.values_list("serial_key", "device_id"))
        by_id = devices.in_bulk(set(aliases.values()))
        found |= {key: by_id[pk] for key, pk in aliases.items() if pk in by_id}
    return {given: found[key] for given, key in wanted.items() if key in found}


def matching_serial(serial_number: str) -> Q:
    """A condition on devices: named `serial_number` exactly (ignoring case), now or before a
    correction."""
    key = serial_key(serial_number)
    return Q(serial_key=key) | Q(
        pk__in=DeviceAlias.objects.filter(serial_key=key).values("device_id")
    )


def serial_contains(term: str) -> Q:
    """A condition on devices: `term` is inside their serial number, or inside one they had
    before a correction (ignoring case)."""
    return Q(serial_number__icontains=term) | Q(
        pk__in=DeviceAlias.objects.filter(serial_number__icontains=term).values("device_id")
    )


def _spelling_refusal(new: str) -> str | None:
    """Why `new` cannot be any device's serial number, whoever has it."""
    if not new:
        return _("A serial number is needed.")
    if len(new) > MAX_SERIAL_LENGTH:
        return _("A serial number is at most %(limit)d characters.") % {"limit": MAX_SERIAL_LENGTH}
    # U+FFFD: what a browser's broken UTF-8 (a lone surrogate) arrives as.
    if not new.isprintable() or "\ufffd" in new:
        return _("A serial number holds only printable characters.")
    return None


def _correction_refusal(device: Device, new: str) -> str | None:
    """Why `device` cannot take `new`: it has it already, or it names another device."""
    if new == device.serial_number:
        return _("%(serial)s is the serial number already; nothing to correct.") % {"serial": new}
    other = (
        Device.objects.filter(serial_key=serial_key(new)).exclude(pk=device.pk).only("pk").first()
    )
    if other is not None:
        return _(
            "Device %(serial)s is registered under this serial number; a serial number names "
            "one device."
        ) % {"serial": other.serial_number}
    alias = alias_owner(new)
    if alias is not None and alias.device_id != device.pk:
        return _(
            "%(serial)s is the former serial number of device %(device)s; a serial number names "
            "one device."
        ) % {"serial": alias.serial_number, "device": alias.device.serial_number}
    return None


@transaction.atomic
def device_serial_correct(*, device: Device, serial_number: str, reason: str, by: Person) -> Device:
    """Correct the serial number a device was registered under, for `reason`, as `by`.

    The serial it had becomes its alias; going back to one of its own aliases swaps the two; a
    correction of case only changes the spelling and adds no alias. Refused (ValidationError,
    with the reason) for a serial that names another device, now or formerly, and by whoever
    the rules do not allow (the `device_serial_correcting` signal). The trail keeps who, from
    what, to what and why; labels printed afterwards carry the new serial."""
    if by is None:
        raise ValidationError(_("A serial number is corrected by a person, with a reason."))
    new = (serial_number or "").strip()
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError(_("Say why the serial number is corrected."))
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationError(
            _("A reason is at most %(limit)d characters.") % {"limit": MAX_REASON_LENGTH}
        )
    refusal = _spelling_refusal(new)
    if refusal:
        raise ValidationError(refusal)
    current = Device.objects.filter(pk=device.pk).values_list("serial_number", flat=True).first()
    if current is None:
        raise ValidationError(_("This device is no longer registered."))
    lock_serials(current, new)
    device = Device.objects.select_for_update().get(pk=device.pk)
    if device.serial_number != current:
        # Corrected meanwhile by someone else: the serial it has now becomes the alias.
        lock_serials(device.serial_number)
    refusal = _correction_refusal(device, new)
    if refusal:
        raise ValidationError(refusal)
    old = device.serial_number
    device_serial_correcting.send(
        sender=Device, device=device, old=old, new=new, reason=reason, by=by
    )
    # Back to one of its own former serials: that one is no longer an alias.
    DeviceAlias.objects.filter(device=device, serial_key=serial_key(new)).delete()
    if serial_key(old) != serial_key(new):
        DeviceAlias.objects.create(device=device, serial_number=old, by=by, reason=reason)
    device.serial_number = new
    device._history_user = by
    device._change_reason = reasons.serial_corrected(old, reason)
    device.full_clean(exclude=["location", "holder"])
    device.save(update_fields=["serial_number"])
    return device
