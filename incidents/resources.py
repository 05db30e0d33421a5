"""django-import-export resources: the per-model import/export buttons of the changelists.

Headers are those of the legacy workbook (incidents.legacy.columns): Chinese, or English when
the person exporting reads English. Either set of headers imports, so an export re-imports
cleanly. Importing is editing: it needs the model's add and change permissions, every row is
written through the same services as the screens (opening an incident, custody moves with their
rules and trail, history), an empty cell leaves a value as it is, and one bad row stops the
whole file. The incident stage is exported but never imported: only the workflow changes it.
"""

from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import translation
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from incidents import services
from incidents.choices import Role
from incidents.legacy.columns import COLUMNS, SheetKind, normalise
from incidents.legacy.workbook import CellError, moment
from incidents.models import Department, Employee, Incident, ProblemGroup
from locations.models import Device


def _names(kind: str, field_name: str) -> list[str]:
    return COLUMNS[kind][field_name][0]


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class BilingualResource(resources.ModelResource):
    """Column names in Chinese or English; `sheet_kind` says which legacy sheet they come from,
    `aliases` maps a resource field to the legacy column it shares names with."""

    sheet_kind: str = ""
    aliases: dict[str, str] = {}

    def _names_for(self, field) -> list[str]:
        legacy = self.aliases.get(field.attribute, field.attribute)
        if legacy in COLUMNS[self.sheet_kind]:
            return _names(self.sheet_kind, legacy)
        return [field.column_name]

    def get_export_headers(self, selected_fields=None):
        english = (translation.get_language() or "").startswith("en")
        headers = []
        for field in self.get_export_fields(selected_fields):
            names = self._names_for(field)
            headers.append(names[1] if english and len(names) > 1 else names[0])
        return headers

    def export(self, *args, **kwargs):
        dataset = super().export(*args, **kwargs)
        # The sheet is named after what it holds, in the reader's language.
        dataset.title = str(self._meta.model._meta.verbose_name_plural)[:31]
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
        for field in self.get_import_fields():
            for name in self._names_for(field):
                canonical[normalise(name)] = field.column_name
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

    def save_instance(self, instance, is_create, row, **kwargs):
        try:
            saved = self.write(instance, is_create, by=kwargs["user"])
        except services.WorkflowError as error:
            raise DjangoValidationError(error.message) from error
        if saved is not None and saved is not instance:
            instance.pk = saved.pk

    def write(self, instance, is_create: bool, *, by: Employee):
        """Create or update through the services; returns the saved object."""
        raise NotImplementedError


class MomentWidget(widgets.DateTimeWidget):
    """Dates as the legacy workbook writes them: real dates, or text such as 2025-03-04 10:22,
    2025/3/4 or 2025.03.04."""

    def clean(self, value, row=None, **kwargs):
        if is_blank(value):
            return None
        try:
            return moment(value)
        except CellError as error:
            raise ValueError(str(error)) from None


class SerialNumberWidget(widgets.ForeignKeyWidget):
    """A device by its serial number, ignoring case as the scan station does (serial numbers
    are unique ignoring case)."""

    def __init__(self, **kwargs):
        super().__init__(Device, field="serial_number", **kwargs)

    def get_lookup_kwargs(self, value, row, **kwargs):
        return {"serial_number__iexact": str(value).strip()}


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


class IncidentResource(BilingualResource):
    sheet_kind = SheetKind.REGISTER
    aliases = {"device": "serial_number"}

    device = _field(SheetKind.REGISTER, "device", SerialNumberWidget(), legacy="serial_number")
    problem_group = _field(
        SheetKind.REGISTER,
        "problem_group",
        widgets.ForeignKeyWidget(ProblemGroup, field="number"),
    )
    stage = _field(SheetKind.REGISTER, "stage", readonly=True)
    opened_at = _field(SheetKind.REGISTER, "opened_at", MomentWidget())
    description = _field(SheetKind.REGISTER, "description")

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
            )
        return services.incident_update(
            incident=instance,
            by=by,
            description=instance.description,
            problem_group=instance.problem_group,
        )

    class Meta:
        model = Incident
        fields = ("device", "problem_group", "stage", "opened_at", "description")
        import_id_fields = ("device", "opened_at")
        skip_unchanged = True
        report_skipped = True
