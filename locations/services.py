"""Writes for devices and locations. Every change of place or holder lands in the trail."""

from datetime import datetime
from types import SimpleNamespace

from django.contrib.auth.base_user import AbstractBaseUser as Person
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from config.kit.bulk import history_write, objects_create
from config.kit.updates import apply_changes, changes_to
from locations import reasons
from locations.choices import IMPORT_REASON
from locations.models import DEVICE_DETAIL_FIELDS, Device, Location, project_key
from locations.serials import alias_refusal, lock_serials, serial_key
from locations.signals import (
    device_move_written,
    device_moved_on_commit,
    device_moving,
    device_project_changing,
)


def custody_check(*, location: Location | None = None, holder: Person | None = None) -> None:
    """Refuse a place or a person that cannot take a device, saying why."""
    if location is not None and not location.is_active:
        raise ValidationError(
            _("Location %(code)s is inactive and cannot receive devices.") % {"code": location.code}
        )
    if holder is not None and not holder.is_active:
        raise ValidationError(
            _("%(holder)s is inactive and cannot hold devices.") % {"holder": holder}
        )


def custody_refusal(
    *, device: Device | None, location: Location | None = None, holder: Person | None = None
) -> str | None:
    """Why `device` (None: a device not registered yet) may not go to `location` or to
    `holder`, as `custody_check` says; a place or person that has it already may keep it. None
    when it may."""
    try:
        custody_check(
            location=None if device is not None and location == device.location else location,
            holder=None if device is not None and holder == device.holder else holder,
        )
    except ValidationError as error:
        return error.messages[0]
    return None


def device_move_check(
    *,
    device: Device,
    moved_by: Person | None,
    location: Location | None = None,
    holder: Person | None = None,
    reason: str = "",
    at: datetime | None = None,
) -> None:
    """Raise ValidationError if the move may not be made as asked (the listeners of
    `device_moving` decide: the workflow keeps a device in the place its stage works); its
    `code` says whether a reason would let it through. Writes nothing: a screen asks first."""
    device_moving.send(
        sender=Device,
        device=device,
        location=location,
        holder=holder,
        by=moved_by,
        reason=(reason or "").strip(),
        at=at,
    )


@transaction.atomic
def device_move(
    *,
    device: Device,
    moved_by: Person | None,
    location: Location | None = None,
    holder: Person | None = None,
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
    device_move_check(
        device=device, moved_by=moved_by, location=location, holder=holder, reason=reason, at=at
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
            _announce_move(device, backdated=True)
            return Device.objects.get(pk=device.pk)
    device.save(update_fields=["location", "holder"])
    _announce_move(device, backdated=at is not None)
    return device


def _announce_move(device: Device, *, backdated: bool) -> None:
    """Whoever keeps something with the move writes it now, in its transaction; whoever listens
    hears of it once it has committed (locations.signals)."""
    history_id = device.history.order_by("-history_id").values_list("history_id", flat=True).first()
    device_move_written.send(
        sender=Device, device=device, history_id=history_id, backdated=backdated
    )
    device_moved_on_commit(device_id=device.pk, history_id=history_id, backdated=backdated)


@transaction.atomic
def device_move_undo(*, device: Device, history_id: int, by: Person | None) -> Device:
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
    device._change_reason = reasons.undo(latest.history_change_reason)
    device._history_user = by
    device.save(update_fields=["location", "holder"])
    _announce_move(device, backdated=False)
    return device


# Deeper than any real building → area → shelf tree; a walk up the tree stops here whatever the
# data says, so a loop that got in some other way can never hang a worker.
MAX_LOCATION_DEPTH = 64


def location_parent_chain(parents: dict, start) -> list:
    """The keys above `start` in `parents` (key → parent key), nearest first, stopping at a
    loop (the repeated key is the last one listed) or at MAX_LOCATION_DEPTH."""
    chain, seen, node = [], {start}, parents.get(start)
    while node is not None and len(chain) < MAX_LOCATION_DEPTH:
        chain.append(node)
        if node in seen:
            break
        seen.add(node)
        node = parents.get(node)
    return chain


def location_would_cycle(*, location: Location, parent: Location | None) -> bool:
    """True when making `parent` the parent of `location` would put it inside itself."""
    if parent is None:
        return False
    if location.pk is None:
        return False
    node, steps = parent, 0
    while node is not None and steps < MAX_LOCATION_DEPTH:
        if node.pk == location.pk:
            return True
        node, steps = node.parent, steps + 1
    # A chain deeper than any real tree is a loop among other locations: refuse it too.
    return node is not None


def _check_parent(location: Location, parent: Location | None) -> None:
    if location_would_cycle(location=location, parent=parent):
        raise ValidationError(
            _("%(code)s cannot sit inside %(parent)s: that would put it inside itself.")
            % {"code": location.code, "parent": parent.code}
        )


@transaction.atomic
def location_create(
    *, code: str, name: str, by=None, kind: str | None = None, parent: Location | None = None
) -> Location:
    """A new place devices can be at."""
    location = Location(code=(code or "").strip(), name=name, parent=parent)
    if kind:
        location.kind = kind
    location.full_clean()
    location._history_user = by
    location.save()
    return location


@transaction.atomic
def location_update(
    *, location: Location, by=None, reason: str | None = None, **changes
) -> Location:
    """Change a location's name, kind, parent or activity; a parent that would make a loop is
    refused. Only what changed is written, with history."""
    location = Location.objects.select_for_update().get(pk=location.pk)
    changes = changes_to(location, changes)
    if not changes:
        return location
    changed = apply_changes(location, changes)
    if "parent" in changed:
        _check_parent(location, location.parent)
    location.full_clean()
    location._history_user = by
    if reason:
        location._change_reason = reason
    location.save(update_fields=changed)
    return location


@transaction.atomic
def device_update(*, device: Device, by=None, reason: str | None = None, **details) -> Device:
    """Change what a device is (project, versions, fail station and item, test log): only the
    descriptive fields, only those that changed, with history. Custody moves through
    `device_move` with its rules and trail."""
    unknown = set(details) - set(DEVICE_DETAIL_FIELDS)
    if unknown:
        raise ValueError(f"not descriptive fields of a device: {sorted(unknown)}")
    device = Device.objects.select_for_update().get(pk=device.pk)
    changes = changes_to(device, details)
    if not changes:
        return device
    if "project" in changes:
        # Whoever guards confidential projects may refuse (ValidationError, with the reason).
        device_project_changing.send(
            sender=Device, device=device, old=device.project, new=changes["project"], by=by
        )
    changed = apply_changes(device, changes)
    device.full_clean(exclude=["location", "holder"])
    device._history_user = by
    if reason:
        device._change_reason = reason
    device.save(update_fields=changed)
    return device


def device_build(*, serial_number: str, **fields) -> Device:
    """A newly registered device, not saved yet (bulk writers save many at once)."""
    device = Device(serial_number=(serial_number or "").strip(), **fields)
    # Bulk writers that stream rows (COPY) call no save(): the keys are set here.
    device.project_key = project_key(device.project)
    device.serial_key = serial_key(device.serial_number)
    return device


@transaction.atomic
def device_register(*, serial_number: str, registered_by: Person | None, **fields) -> Device:
    """Register a new device; a serial number that exists already, in any case, or that is
    another device's former serial (`locations.serials`), is refused, never merged."""
    serial_number = (serial_number or "").strip()
    if not serial_number:
        raise ValidationError(_("A serial number is needed."))
    lock_serials(serial_number)
    refusal = alias_refusal(serial_number)
    if refusal:
        raise ValidationError(refusal)
    existing = Device.objects.filter(serial_key=serial_key(serial_number)).first()
    if existing is not None:
        raise ValidationError(
            _("Device %(serial)s is already registered; pick it instead of creating it again.")
            % {"serial": existing.serial_number}
        )
    device = device_build(serial_number=serial_number, **fields)
    device.full_clean()
    device._history_user = registered_by
    device.save()
    return device


# --- bulk: imports ----------------------------------------------------------------------------
@transaction.atomic
def devices_import(
    *, created: list[Device] = (), changed: list[Device] = (), by: Person | None
) -> None:
    """Bring devices in from a workbook in bulk (the legacy import): new devices (built with
    `device_build`) and changes of what known devices are and where they are, each with its
    history entry (the devices' own `_history_date` / `_change_reason`, else now and the
    import). Custody follows the scan station's rules (`custody_refusal`): refused whole
    (ValidationError) if any device would go to an inactive place or person; the caller works
    them out beforehand and reports them."""
    stored = {
        pk: (location_id, holder_id)
        for pk, location_id, holder_id in Device.objects.filter(
            pk__in=[device.pk for device in changed]
        ).values_list("pk", "location_id", "holder_id")
    }
    for device in [*created, *changed]:
        location_id, holder_id = stored.get(device.pk, (None, None))
        check = {}
        if device.location_id is not None and device.location_id != location_id:
            check["location"] = device.location
        if device.holder_id is not None and device.holder_id != holder_id:
            check["holder"] = device.holder
        custody_check(**check)
    for device in [*created, *changed]:
        # bulk_create and bulk_update call no save(): the key restrictions compare is set here.
        device.project_key = project_key(device.project)
        device._history_user = getattr(device, "_history_user", None) or by
        if not getattr(device, "_change_reason", None):
            device._change_reason = IMPORT_REASON
    objects_create(Device, created)
    history_write(Device, created, "+")
    Device.objects.bulk_update(
        changed, [*DEVICE_DETAIL_FIELDS, "project_key", "location", "holder"], batch_size=1000
    )
    history_write(Device, changed, "~")


def device_trail_import(
    *,
    entries: list[tuple[Device, Location | None, Person | None, datetime, str]],
    by: Person | None,
    progress=None,
) -> None:
    """Add back-dated entries to devices' trails (the legacy location trail): each (device,
    place, person, when, reason) is a past move, in its place in the trail; the devices stay
    where their newest entry puts them. Whoever took the device is who moved it, else `by`."""
    rows = [
        # The device as it stands, but for where it was and who had it then.
        SimpleNamespace(
            **{
                **vars(device),
                "location_id": place.pk if place is not None else None,
                "holder_id": person.pk if person is not None else None,
                "_history_date": at,
                "_history_user": person if person is not None else by,
                "_change_reason": reason,
            }
        )
        for device, place, person, at, reason in entries
    ]
    history_write(Device, rows, "~", progress=progress)


@transaction.atomic
def locations_import(
    *, created: list[Location] = (), changed: list[Location] = (), by: Person | None
) -> None:
    """Bring places in from a workbook in bulk (the legacy import): new ones (a new place may
    sit in another new one) and new names or parents of known ones, with their history. A
    parent that would put a place inside itself is refused (ValidationError), as the place's
    page refuses it; the caller names such rows beforehand."""
    parents = {location.code.upper(): location.parent for location in [*created, *changed]}
    known = {
        code.upper(): parent.upper() if parent else None
        for code, parent in Location.objects.values_list("code", "parent__code")
    }
    chain = {**known}
    for code, parent in parents.items():
        chain[code] = parent.code.upper() if parent is not None else None
    for code, parent in parents.items():
        path = location_parent_chain(chain, code)
        if path and path[-1] in [*path[:-1], code]:
            raise ValidationError(
                _("%(code)s cannot sit inside %(parent)s: that would put it inside itself.")
                % {"code": code, "parent": parent.code}
            )
    for location in [*created, *changed]:
        location._history_user = getattr(location, "_history_user", None) or by
        if not getattr(location, "_change_reason", None):
            location._change_reason = IMPORT_REASON
    # Parents after: a new place may sit in another new one.
    for location in created:
        location.parent = None
    Location.objects.bulk_create(created, batch_size=1000)
    for location in created:
        location.parent = parents[location.code.upper()]
    history_write(Location, created, "+")
    Location.objects.bulk_update(
        [location for location in created if location.parent is not None],
        ["parent"],
        batch_size=1000,
    )
    Location.objects.bulk_update(changed, ["name", "parent"], batch_size=1000)
    history_write(Location, changed, "~")
