"""Writes for devices and locations. Every change of place or holder lands in the trail."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from incidents.models import Employee
from locations.models import Device, Location


def custody_check(*, location: Location | None = None, holder: Employee | None = None) -> None:
    """Refuse a place or a person that cannot take a device, saying why."""
    if location is not None and not location.is_active:
        raise ValidationError(
            _("Location %(code)s is inactive and cannot receive devices.") % {"code": location.code}
        )
    if holder is not None and not holder.is_active:
        raise ValidationError(
            _("%(holder)s is inactive and cannot hold devices.") % {"holder": holder}
        )


@transaction.atomic
def device_move(
    *,
    device: Device,
    moved_by: Employee | None,
    location: Location | None = None,
    holder: Employee | None = None,
    reason: str = "",
    at: datetime | None = None,
) -> Device:
    """Record that a device now sits at `location` and/or is held by `holder`.

    The row is locked, so two stations moving the same device at once are recorded one after
    the other and the device ends where the later one put it. `at` back-dates the trail entry
    (legacy imports); by default it is now.
    """
    if location is None and holder is None:
        raise ValidationError(_("Scan or pick where the device goes or who takes it."))
    custody_check(location=location, holder=holder)
    device = Device.objects.select_for_update().get(pk=device.pk)
    if (location is None or device.location_id == location.pk) and (
        holder is None or device.holder_id == holder.pk
    ):
        raise ValidationError(
            _("%(serial)s is already there with that holder; nothing to record.")
            % {"serial": device.serial_number}
        )
    if location is not None:
        device.location = location
    if holder is not None:
        device.holder = holder
    device._change_reason = reason
    device._history_user = moved_by
    if at is not None:
        device._history_date = at
        newest = device.history.order_by("-history_date").values_list("history_date", flat=True)
        if newest and newest[0] > at:
            # An old move told late (an import): it joins the trail in its place, while the
            # device stays where its newest entry puts it.
            Device.history.bulk_history_create([device], update=True)
            return Device.objects.get(pk=device.pk)
    device.save(update_fields=["location", "holder"])
    return device


@transaction.atomic
def device_move_undo(*, device: Device, history_id: int, by: Employee | None) -> Device:
    """Put the device back where it was before trail entry `history_id`, as a new entry, as
    long as nothing moved it since."""
    device = Device.objects.select_for_update().get(pk=device.pk)
    entries = list(device.history.order_by("-history_date", "-history_id")[:2])
    latest = entries[0] if entries else None
    previous = entries[1] if len(entries) > 1 else None
    if latest is None or latest.history_id != history_id or previous is None:
        raise ValidationError(
            _("%(serial)s has moved since; that move can no longer be undone.")
            % {"serial": device.serial_number}
        )
    custody_check(location=previous.location, holder=previous.holder)
    device.location_id = previous.location_id
    device.holder_id = previous.holder_id
    device._change_reason = _("Undo: %(reason)s") % {
        "reason": latest.history_change_reason or _("scan")
    }
    device._history_user = by
    device.save(update_fields=["location", "holder"])
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
