from import_export import widgets

from incidents.legacy.columns import SheetKind
from incidents.models import Employee
from incidents.resources import BilingualResource, _field
from locations.choices import SPREADSHEET_REASON
from locations.models import DEVICE_DETAIL_FIELDS, Device, Location
from locations.services import (
    device_move,
    device_register,
    device_update,
    location_create,
    location_update,
)


class LocationResource(BilingualResource):
    sheet_kind = SheetKind.LOCATIONS

    code = _field(SheetKind.LOCATIONS, "code")
    name = _field(SheetKind.LOCATIONS, "name")
    parent = _field(SheetKind.LOCATIONS, "parent", widgets.ForeignKeyWidget(Location, "code"))

    class Meta:
        model = Location
        fields = ("code", "name", "parent")
        import_id_fields = ("code",)
        skip_unchanged = True
        report_skipped = True

    def write(self, instance: Location, is_create: bool, *, by: Employee):
        if is_create:
            return location_create(
                code=instance.code, name=instance.name, parent=instance.parent, by=by
            )
        return location_update(
            location=instance,
            by=by,
            reason=SPREADSHEET_REASON,
            name=instance.name,
            parent=instance.parent,
        )


class DeviceResource(BilingualResource):
    sheet_kind = SheetKind.REGISTER

    serial_number = _field(SheetKind.REGISTER, "serial_number")
    project = _field(SheetKind.REGISTER, "project")
    hardware_version = _field(SheetKind.REGISTER, "hardware_version")
    rom_version = _field(SheetKind.REGISTER, "rom_version")
    config = _field(SheetKind.REGISTER, "config")
    holder = _field(
        SheetKind.REGISTER, "holder", widgets.ForeignKeyWidget(Employee, "employee_number")
    )
    location = _field(SheetKind.REGISTER, "location", widgets.ForeignKeyWidget(Location, "code"))

    class Meta:
        model = Device
        fields = ("serial_number", *DEVICE_DETAIL_FIELDS, "holder", "location")
        import_id_fields = ("serial_number",)
        skip_unchanged = True
        report_skipped = True

    def get_instance(self, instance_loader, row):
        """The device with this serial number, ignoring case as the scan station does."""
        serial = str(row.get(self.fields["serial_number"].column_name) or "").strip()
        return Device.objects.filter(serial_number__iexact=serial).first() if serial else None

    def write(self, instance: Device, is_create: bool, *, by: Employee):
        details = {name: getattr(instance, name) for name in DEVICE_DETAIL_FIELDS}
        if is_create:
            device = device_register(
                serial_number=instance.serial_number, registered_by=by, **details
            )
        else:
            device = device_update(device=instance, by=by, reason=SPREADSHEET_REASON, **details)
        # Custody changes are moves, with the custody rules and a trail entry.
        location = instance.location if instance.location_id != device.location_id else None
        holder = instance.holder if instance.holder_id != device.holder_id else None
        if location is not None or holder is not None:
            device = device_move(
                device=device,
                moved_by=by,
                location=location,
                holder=holder,
                reason=SPREADSHEET_REASON,
            )
        return device
