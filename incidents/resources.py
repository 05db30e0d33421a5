"""django-import-export resources: the per-model import/export buttons of the changelists.

Headers are those of the legacy workbook (incidents.legacy.columns), in the language of the
person exporting: Chinese, or English with a capital. The export page lists them as the file
will have them. Either set of headers imports, in any case, so an export re-imports cleanly.
Importing is editing: it needs the model's add and change permissions, every row is written
through the same services as the screens (opening an incident, custody moves with their rules
and trail, history), an empty cell leaves a value as it is, and one bad row stops the whole
file. The incident's stage and step are exported in words but never imported: only the
workflow changes them; the device's details in the incident list are for reading too.
"""

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets
from import_export.resources import Diff

from incidents import access, services
from incidents.choices import Role
from incidents.legacy.columns import COLUMNS, SheetKind, normalise
from incidents.legacy.workbook import CellError, moment
from incidents.models import FAILURE_FIELDS, Department, Employee, Incident, ProblemGroup
from locations.choices import SPREADSHEET_REASON
from locations.models import DEVICE_DETAIL_FIELDS, Device, Location
from locations.serials import matching_serial
from locations.services import (
    device_move,
    device_register,
    device_update,
    location_create,
    location_update,
)


def _names(kind: str, field_name: str) -> list[str]:
    return COLUMNS[kind][field_name][0]


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class WordsDiff(Diff):
    """The import preview's rows as the file has them: each column through its resource's
    export (stage and step in words, the assignee by name), not the raw values."""

    def __init__(self, resource, instance, new):
        super().__init__(resource, instance, new)
        self.left = self._words(resource, instance)

    def compare_with(self, resource, instance):
        self.right = self._words(resource, instance)

    @staticmethod
    def _words(resource, instance) -> list:
        if instance is None:  # a deleted row
            return [""] * len(resource.get_import_fields())
        values = (resource.export_field(field, instance) for field in resource.get_import_fields())
        return ["" if value is None else value for value in values]


class BilingualResource(resources.ModelResource):
    """Column names in Chinese or English; `sheet_kind` says which legacy sheet they come from,
    `aliases` maps a resource field to the legacy column it shares names with, `extra_columns`
    names (Chinese, English) the columns the legacy sheet does not have.

    Each column is named in the language active when the resource is made (the reader's), so
    the export page, the file's headers and the import's messages all say the same."""

    sheet_kind: str = ""
    aliases: dict[str, str] = {}
    extra_columns: dict[str, list[str]] = {}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        english = (translation.get_language() or "").startswith("en")
        for name, field in self.fields.items():
            names = self._names_for(name)
            field.column_name = capfirst(names[1]) if english and len(names) > 1 else names[0]

    def _names_for(self, name: str) -> list[str]:
        legacy = self.aliases.get(name, name)
        if legacy in COLUMNS[self.sheet_kind]:
            return _names(self.sheet_kind, legacy)
        return self.extra_columns.get(name) or [self.fields[name].column_name]

    def get_diff_class(self):
        return WordsDiff

    def get_user_visible_fields(self):
        """What the import page says it imports: the columns an import reads."""
        return [field for field in self.get_import_fields() if not field.readonly]

    def export(self, *args, **kwargs):
        dataset = super().export(*args, **kwargs)
        # The sheet is named after what it holds, in the reader's language.
        dataset.title = capfirst(str(self._meta.model._meta.verbose_name_plural))[:31]
        return dataset

    def import_data(self, dataset, *args, **kwargs):
        user = kwargs.get("user")
        if user is None:
            raise ValueError("An import is recorded against the person importing: pass user=.")
        opts = self._meta.model._meta
        for action in ("add", "change"):
            if not user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}"):
                raise PermissionDenied
        canonical = {}
        for name, field in self.fields.items():
            for column in self._names_for(name):
                canonical[normalise(column)] = field.column_name
        dataset.headers = [canonical.get(normalise(h), h) for h in dataset.headers]
        # One bad row and nothing of the file is kept.
        kwargs["rollback_on_validation_errors"] = True
        return super().import_data(dataset, *args, **kwargs)

    # --- rows go through the services ------------------------------------------------------------
    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        """An empty cell leaves the value of an existing record as it is."""
        if instance.pk and is_blank(row.get(field.column_name)):
            return
        super().import_field(field, instance, row, is_m2m=is_m2m, **kwargs)

    def after_init_instance(self, instance, new, row, **kwargs):
        # Before anything of the row is compared or shown: a stored record of a confidential
        # project not open to the importer is neither (a row left unchanged would show it).
        super().after_init_instance(instance, new, row, **kwargs)
        if not new:
            self._check_confidential(instance, kwargs.get("user"))

    def save_instance(self, instance, is_create, row, **kwargs):
        # As the row would write it (a device moved into a confidential project).
        self._check_confidential(instance, kwargs["user"])
        try:
            saved = self.write(instance, is_create, by=kwargs["user"])
        except services.WorkflowError as error:
            raise DjangoValidationError(error.message) from error
        if saved is not None and saved is not instance:
            instance.pk = saved.pk

    def _check_confidential(self, instance, by: Employee) -> None:
        """A row about a confidential project not open to the importer is refused."""
        if access.applies_to(type(instance)) and not access.may_see(instance, by):
            raise DjangoValidationError(
                _(
                    "This row is about a device of a confidential project that is not open to "
                    "you; an administrator can open the project to you."
                )
            )

    def write(self, instance, is_create: bool, *, by: Employee):
        """Create or update through the services; returns the saved object."""
        raise NotImplementedError


class MomentWidget(widgets.DateTimeWidget):
    """Dates as the legacy workbook writes them: real dates, or text such as 2025-03-04 10:22,
    2025/3/4 or 2025.03.04. An XLSX export writes real date cells (local time, to the second),
    so a spreadsheet sorts and filters them as dates; CSV writes the text."""

    def render(self, value, obj=None, **kwargs):
        if kwargs.get("force_native_type") and isinstance(value, datetime):
            return timezone.localtime(value).replace(tzinfo=None, microsecond=0)
        return super().render(value, obj, **kwargs)

    def clean(self, value, row=None, **kwargs):
        if is_blank(value):
            return None
        try:
            return moment(value)
        except CellError as error:
            raise ValueError(str(error)) from None


def _same_second(value, stored: datetime) -> bool:
    return isinstance(value, datetime) and value.replace(microsecond=0) == stored.replace(
        microsecond=0
    )


class SerialNumberWidget(widgets.ForeignKeyWidget):
    """A device by its serial number, ignoring case as the scan station does (serial numbers
    are unique ignoring case)."""

    def __init__(self, **kwargs):
        super().__init__(Device, field="serial_number", **kwargs)

    def get_lookup_kwargs(self, value, row, **kwargs):
        # Or the serial the device had before a correction (one device either way).
        return {"pk__in": Device.objects.filter(matching_serial(str(value))).values("pk")}


def _field(kind: str, attribute: str, widget=None, legacy: str | None = None, **options):
    """A column of legacy sheet `kind`; text by default, an empty cell reading as ''."""
    return fields.Field(
        attribute=attribute,
        column_name=_names(kind, legacy or attribute)[0],
        widget=widget or widgets.CharWidget(allow_blank=True),
        **options,
    )


class EmployeeResource(BilingualResource):
    sheet_kind = SheetKind.EMPLOYEES
    aliases = {"display_name": "name"}

    employee_number = _field(SheetKind.EMPLOYEES, "employee_number")
    display_name = _field(SheetKind.EMPLOYEES, "display_name", legacy="name")
    username = _field(SheetKind.EMPLOYEES, "username")
    email = _field(SheetKind.EMPLOYEES, "email")
    department = _field(
        SheetKind.EMPLOYEES,
        "department",
        widgets.ForeignKeyWidget(Department, field="code"),
    )

    class Meta:
        model = Employee
        fields = ("employee_number", "display_name", "username", "email", "department")
        import_id_fields = ("employee_number",)
        skip_unchanged = True
        report_skipped = True

    def write(self, instance: Employee, is_create: bool, *, by: Employee):
        if is_create:
            return services.employee_create(
                employee_number=instance.employee_number,
                username=instance.username or f"emp{instance.employee_number}",
                display_name=instance.display_name,
                email=instance.email,
                department=instance.department,
                roles=(Role.STAFF,),
            )
        return services.employee_update(
            employee=instance,
            by=by,
            username=instance.username,
            display_name=instance.display_name,
            email=instance.email,
            department=instance.department,
        )


def _report_field(attribute: str | None, name: str, widget=None) -> fields.Field:
    """A column a weekly report reads and an import ignores (the device's details change
    through the device list, the workflow's through the workflow)."""
    return fields.Field(
        attribute=attribute,
        column_name=name,
        widget=widget or widgets.CharWidget(allow_blank=True),
        readonly=True,
    )


class IncidentResource(BilingualResource):
    """The register as a weekly report needs it: the incident's number, the device and its
    failure, where the incident stands (stage and step in words, who has it, for how long),
    opened and closed."""

    sheet_kind = SheetKind.REGISTER
    aliases = {"device": "serial_number"}
    extra_columns = {
        "incident_number": ["异常编号", "incident no."],
        "step": ["步骤", "step"],
        "assignee": ["负责人", "assignee"],
        "days_in_stage": ["在节点天数", "days in stage"],
        "closed_at": ["关闭时间", "closed at"],
        "failed_at": ["失效时间", "failed at"],
    }

    incident_number = _report_field("pk", "incident_number", widgets.IntegerWidget())
    device = _field(SheetKind.REGISTER, "device", SerialNumberWidget(), legacy="serial_number")
    project = _report_field("device__project", "project")
    fail_station = _field(SheetKind.REGISTER, "fail_station")
    fail_item = _field(SheetKind.REGISTER, "fail_item")
    test_log_url = _field(SheetKind.REGISTER, "test_log_url")
    failed_at = fields.Field(attribute="failed_at", column_name="failed_at", widget=MomentWidget())
    problem_group = _field(
        SheetKind.REGISTER,
        "problem_group",
        widgets.ForeignKeyWidget(ProblemGroup, field="number"),
    )
    stage = _report_field("stage", "stage")
    step = _report_field("step", "step")
    assignee = _report_field("assignee", "assignee")
    days_in_stage = _report_field(None, "days_in_stage", widgets.NumberWidget())
    opened_at = _field(SheetKind.REGISTER, "opened_at", MomentWidget())
    closed_at = _report_field("closed_at", "closed_at", MomentWidget())
    description = _field(SheetKind.REGISTER, "description")

    def dehydrate_stage(self, incident: Incident) -> str:
        return str(incident.get_stage_display())

    def dehydrate_step(self, incident: Incident) -> str:
        return str(incident.get_step_display())

    def dehydrate_assignee(self, incident: Incident) -> str:
        return incident.assignee.get_full_name() if incident.assignee else ""

    def dehydrate_days_in_stage(self, incident: Incident) -> float | None:
        """Days since the incident entered its stage, while it is open; empty when nobody knows
        when it did (imported from the legacy workbook, which does not say)."""
        if not incident.is_open or not incident.stage_entered_known:
            return None
        return round((timezone.now() - incident.stage_entered_at).total_seconds() / 86400, 1)

    def get_queryset(self):
        return super().get_queryset().select_related("device", "problem_group", "assignee")

    def get_instance(self, instance_loader, row):
        """The same device and registration time, to the second (spreadsheets drop the rest)."""
        try:
            device = self.fields["device"].clean(row)
            opened_at = self.fields["opened_at"].clean(row)
        except (KeyError, ValueError):
            return None
        if device is None or opened_at is None:
            return None
        start = opened_at.replace(microsecond=0)
        return Incident.objects.filter(
            device=device, opened_at__gte=start, opened_at__lt=start + timedelta(seconds=1)
        ).first()

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        if field.attribute == "opened_at" and instance.pk:
            return  # found by it; the time an incident opened is never changed by an import
        if (
            field.attribute == "failed_at"
            and instance.failed_at
            and _same_second(field.clean(row), instance.failed_at)
        ):
            return  # a spreadsheet keeps seconds: the same time, not a correction
        super().import_field(field, instance, row, is_m2m=is_m2m, **kwargs)

    def write(self, instance: Incident, is_create: bool, *, by: Employee):
        if is_create:
            if instance.device_id is None:
                raise services.WorkflowError(_("A serial number is needed."))
            return services.incident_open(
                device=instance.device,
                reporter=by,
                description=instance.description,
                problem_group=instance.problem_group,
                opened_at=instance.opened_at,
                **{name: getattr(instance, name) for name in FAILURE_FIELDS},
            )
        return services.incident_update(
            incident=instance,
            by=by,
            description=instance.description,
            problem_group=instance.problem_group,
            **{name: getattr(instance, name) for name in FAILURE_FIELDS},
        )

    class Meta:
        model = Incident
        fields = (
            "incident_number",
            "device",
            "project",
            "fail_station",
            "fail_item",
            "test_log_url",
            "failed_at",
            "problem_group",
            "stage",
            "step",
            "assignee",
            "days_in_stage",
            "opened_at",
            "closed_at",
            "description",
        )
        import_id_fields = ("device", "opened_at")
        skip_unchanged = True
        report_skipped = True


# --- the physical world's sheets: places and the device register ---------------------------------
# Here, not in locations: their headers are the legacy workbook's and a row of a confidential
# project is the workflow's to refuse (BilingualResource); the rows are written through
# locations' services all the same.
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
        """The device with this serial number, ignoring case as the scan station does, or the
        one that had it before a correction."""
        serial = str(row.get(self.fields["serial_number"].column_name) or "").strip()
        return Device.objects.filter(matching_serial(serial)).first() if serial else None

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
