"""Writes for devices and locations. Every change of place or holder lands in the trail."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from incidents.models import Employee
from locations.models import Device, Location


@transaction.atomic
def device_move(
    *,
    device: Device,
    moved_by: Employee | None,
    location: Location | None = None,
    holder: Employee | None = None,
    reason: str = "",
) -> Device:
    """Record that a device now sits at `location` and/or is held by `holder`."""
    device = Device.objects.select_for_update().get(pk=device.pk)
    if location is not None and not location.is_active:
        raise ValidationError(
            _("Location %(code)s is inactive and cannot receive devices.") % {"code": location.code}
        )
    if holder is not None and not holder.is_active:
        raise ValidationError(
            _("%(holder)s is inactive and cannot hold devices.") % {"holder": holder}
        )
    if location is not None:
        device.location = location
    if holder is not None:
        device.holder = holder
    device._change_reason = reason
    device._history_user = moved_by
    device.save()
    return device


def location_would_cycle(*, location: Location, parent: Location | None) -> bool:
    """True when making `parent` the parent of `location` would put it inside itself."""
    node = parent
    while node is not None:
        if node.pk == location.pk:
            return True
        node = node.parent
    return False


@transaction.atomic
def device_register(*, serial_number: str, registered_by: Employee | None, **fields) -> Device:
    """Register a new device; a serial number that exists already is refused, never merged."""
    serial_number = (serial_number or "").strip()
    if not serial_number:
        raise ValidationError(_("A serial number is needed."))
    existing = Device.objects.filter(serial_number=serial_number).first()
    if existing is not None:
        raise ValidationError(
            _("Device %(serial)s is already registered; pick it instead of creating it again.")
            % {"serial": existing.serial_number}
        )
    device = Device(serial_number=serial_number, **fields)
    device.full_clean()
    device._history_user = registered_by
    device.save()
    return device
