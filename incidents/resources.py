"""django-import-export resources: the per-model import/export buttons of the changelists.

Headers are those of the legacy workbook (incidents.legacy.columns): Chinese, or English when
the person exporting reads English. Either set of headers imports, so an export re-imports
cleanly. The incident stage is exported but never imported: only the workflow changes it.
"""

from datetime import timedelta

from django.utils import translation
from import_export import fields, resources, widgets

from incidents.legacy.columns import COLUMNS, SheetKind, normalise
from incidents.models import Department, Employee, Incident, ProblemGroup
from locations.models import Device


def _names(kind: str, field_name: str) -> list[str]:
    return COLUMNS[kind][field_name][0]


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

    def import_data(self, dataset, *args, **kwargs):
        canonical = {}
        for field in self.get_import_fields():
            for name in self._names_for(field):
                canonical[normalise(name)] = field.column_name
        dataset.headers = [canonical.get(normalise(h), h) for h in dataset.headers]
        return super().import_data(dataset, *args, **kwargs)


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


class IncidentResource(BilingualResource):
    sheet_kind = SheetKind.REGISTER
    aliases = {"device": "serial_number"}

    device = _field(
        SheetKind.REGISTER,
        "device",
        widgets.ForeignKeyWidget(Device, field="serial_number"),
        legacy="serial_number",
    )
    problem_group = _field(
        SheetKind.REGISTER,
        "problem_group",
        widgets.ForeignKeyWidget(ProblemGroup, field="number"),
    )
    stage = _field(SheetKind.REGISTER, "stage", readonly=True)
    opened_at = _field(SheetKind.REGISTER, "opened_at", widgets.DateTimeWidget())
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
        if field.attribute == "opened_at" and instance.pk and instance.opened_at:
            value = field.clean(row)
            if value is not None and abs((instance.opened_at - value).total_seconds()) < 1:
                return  # the same moment as exported, without the fraction of a second
        super().import_field(field, instance, row, is_m2m=is_m2m, **kwargs)

    class Meta:
        model = Incident
        fields = ("device", "problem_group", "stage", "opened_at", "description")
        import_id_fields = ("device", "opened_at")
        skip_unchanged = True
        report_skipped = True
