from import_export import widgets

from incidents.legacy.columns import SheetKind
from incidents.models import Employee
from incidents.resources import BilingualResource, _field
from locations.models import DEVICE_DETAIL_FIELDS, Device, Location


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


class DeviceResource(BilingualResource):
    sheet_kind = SheetKind.REGISTER

    serial_number = _field(SheetKind.REGISTER, "serial_number")
    project = _field(SheetKind.REGISTER, "project")
    hardware_version = _field(SheetKind.REGISTER, "hardware_version")
    rom_version = _field(SheetKind.REGISTER, "rom_version")
    config = _field(SheetKind.REGISTER, "config")
    fail_station = _field(SheetKind.REGISTER, "fail_station")
    fail_item = _field(SheetKind.REGISTER, "fail_item")
    test_log_url = _field(SheetKind.REGISTER, "test_log_url")
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
