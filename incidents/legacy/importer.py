"""Check the whole legacy workbook, then write all of it in one transaction — or nothing.

Every invalid row of every sheet is reported in one run as `sheet!row: column: what is wrong`.
Keys (employee number, location code, serial number, problem-group number) make it idempotent:
a second import of the same workbook creates nothing and reports everything unchanged. Reads
go through in-memory maps built with one query per table, writes are bulk, in batches.
"""

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from incidents.choices import TERMINAL_STAGES, Role, Stage, Step, WorkflowAction
from incidents.legacy.columns import (
    DEPARTMENT_SYNONYMS,
    ROLE_SYNONYMS,
    STAGE_SYNONYMS,
    SheetKind,
    normalise,
)
from incidents.legacy.workbook import CellError, LegacyError, LegacyWorkbook, moment, text
from incidents.models import Department, Employee, Incident, IncidentEvent, ProblemGroup
from incidents.models.incidents import problem_group_number_validator
from incidents.services.workflow import incident_import_stage
from locations.models import DEVICE_DETAIL_FIELDS, Device, Location

BATCH = 1000
PROGRESS_EVERY = 500
IMPORT_REASON = "legacy import"

Progress = Callable[[str, int, int], None]


@dataclass
class SheetSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass
class ImportReport:
    dry_run: bool
    summaries: dict[str, SheetSummary] = field(default_factory=dict)
    errors: list[LegacyError] = field(default_factory=list)
    sheet_titles: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def _use_copy() -> bool:
    return connection.vendor == "postgresql"


class _Rollback(Exception):
    """Raised inside the transaction of a dry run so that nothing stays."""


class LegacyImporter:
    def __init__(self, source: str | Path | BinaryIO, *, user=None, progress=None):
        self.source = source
        self.user = user
        self.progress: Progress = progress or (lambda kind, done, total: None)

    # --- the whole run ---------------------------------------------------------------------------
    def run(self, *, dry_run: bool = False) -> ImportReport:
        report = ImportReport(dry_run=dry_run)
        book = LegacyWorkbook(self.source)
        try:
            report.errors.extend(book.errors)
            report.sheet_titles = {kind: sheet.title for kind, sheet in book.sheets.items()}
            if report.errors:
                return report
            self._load_database()
            parsed = {kind: self._read(book, kind, report) for kind in book.sheets}
        finally:
            book.close()
        if report.errors:
            for summary in report.summaries.values():
                summary.created = summary.updated = summary.unchanged = 0
            return report
        try:
            with transaction.atomic():
                self._write_employees(parsed[SheetKind.EMPLOYEES], report)
                self._write_locations(parsed[SheetKind.LOCATIONS], report)
                self._write_register(parsed[SheetKind.REGISTER], report)
                self._write_trail(parsed[SheetKind.TRAIL], report)
                if dry_run:
                    raise _Rollback
        except _Rollback:
            pass
        return report

    def _load_database(self) -> None:
        self.employees = {e.employee_number.upper(): e for e in Employee.objects.all()}
        self.usernames = {e.username.lower(): e for e in self.employees.values()}
        self.locations = {loc.code.upper(): loc for loc in Location.objects.all()}
        self.devices = {d.serial_number.upper(): d for d in Device.objects.all()}
        self.departments = {d.code.upper(): d for d in Department.objects.all()}
        self.department_names = {normalise(d.name): d for d in self.departments.values()}
        self.groups = {g.number.upper(): g for g in ProblemGroup.objects.all()}
        self.open_incidents = {
            incident.device_id: incident
            for incident in Incident.objects.exclude(stage__in=TERMINAL_STAGES).only(
                "id", "device_id", "opened_at", "stage", "step"
            )
        }
        # Keys the workbook itself brings, so later sheets may refer to them.
        self.planned_employees: set[str] = set()
        self.planned_locations: set[str] = set()
        self.planned_devices: set[str] = set()

    # --- reading and checking ----------------------------------------------------------------
    def _read(self, book: LegacyWorkbook, kind: str, report: ImportReport) -> list[dict]:
        sheet = book.sheets[kind]
        summary = report.summaries.setdefault(kind, SheetSummary())
        check = getattr(self, f"_check_{kind}")
        total, rows, seen = book.row_count(kind), [], {}
        for done, row in enumerate(book.rows(kind), start=1):
            errors: list[tuple[str, str]] = []
            parsed = check(row.values, errors, seen, row.number)
            if errors:
                summary.errors += 1
                for column, message in errors:
                    name = sheet.column_name(column) if column else ""
                    report.errors.append(LegacyError(sheet.title, row.number, name, message))
            else:
                rows.append(parsed)
            if done % PROGRESS_EVERY == 0:
                self.progress(kind, done, total)
        self.progress(kind, total, total)
        return rows

    def _unique(self, key: str, seen: dict, number: int, column: str, errors) -> None:
        if key in seen:
            errors.append(
                (
                    column,
                    _("%(key)s appears again (first on row %(row)s)")
                    % {"key": key, "row": seen[key]},
                )
            )
        else:
            seen[key] = number

    def _check_employees(self, values, errors, seen, number) -> dict:
        employee_number = text(values.get("employee_number"))
        if not employee_number:
            errors.append(("employee_number", _("an employee number is needed")))
        else:
            self._unique(employee_number.upper(), seen, number, "employee_number", errors)
        name = text(values.get("name"))
        if not name:
            errors.append(("name", _("a name is needed")))
        role_text = normalise(values.get("role"))
        role = ROLE_SYNONYMS.get(role_text, Role.STAFF if not role_text else None)
        if role is None:
            errors.append(
                ("role", _("unknown role '%(role)s'") % {"role": text(values.get("role"))})
            )
        username = text(values.get("username")) or f"emp{employee_number}"
        owner = self.usernames.get(username.lower())
        if owner is not None and owner.employee_number.upper() != employee_number.upper():
            errors.append(
                (
                    "username",
                    _("login %(login)s belongs to employee %(other)s")
                    % {"login": username, "other": owner.employee_number},
                )
            )
        self.planned_employees.add(employee_number.upper())
        return {
            "employee_number": employee_number,
            "name": name,
            "username": username,
            "email": text(values.get("email")),
            "department": text(values.get("department")),
            "role": role,
        }

    def _check_locations(self, values, errors, seen, number) -> dict:
        code = text(values.get("code"))
        if not code:
            errors.append(("code", _("a location code is needed")))
        else:
            self._unique(code.upper(), seen, number, "code", errors)
        name = text(values.get("name"))
        if not name:
            errors.append(("name", _("a name is needed")))
        self.planned_locations.add(code.upper())
        return {"code": code, "name": name, "parent": text(values.get("parent")), "row": number}

    def _known_employee(self, value: str) -> bool:
        key = value.upper()
        return key in self.employees or key in self.planned_employees

    def _known_location(self, value: str) -> bool:
        key = value.upper()
        return key in self.locations or key in self.planned_locations

    def _check_register(self, values, errors, seen, number) -> dict:
        serial = text(values.get("serial_number"))
        if not serial:
            errors.append(("serial_number", _("a serial number is needed")))
        else:
            self._unique(serial.upper(), seen, number, "serial_number", errors)
        stage_text = normalise(values.get("stage"))
        stage = STAGE_SYNONYMS.get(stage_text, Stage.REPORTED if not stage_text else None)
        if stage is None:
            errors.append(
                ("stage", _("unknown stage '%(stage)s'") % {"stage": text(values.get("stage"))})
            )
        opened_at = self._moment(values.get("opened_at"), "opened_at", errors)
        holder, location = text(values.get("holder")), text(values.get("location"))
        if holder and not self._known_employee(holder):
            errors.append(("holder", _("no employee %(number)s") % {"number": holder}))
        if location and not self._known_location(location):
            errors.append(("location", _("no location %(code)s") % {"code": location}))
        group = text(values.get("problem_group"))
        if group:
            try:
                problem_group_number_validator(group)
            except Exception:
                errors.append(
                    (
                        "problem_group",
                        _("'%(number)s' is not like BUG-2025-0012") % {"number": group},
                    )
                )
        device = self.devices.get(serial.upper())
        other = self.open_incidents.get(device.pk) if device is not None else None
        clash = other is not None and opened_at is not None and stage is not None
        if clash and other.opened_at != opened_at and stage not in TERMINAL_STAGES:
            errors.append(
                (
                    "serial_number",
                    _("%(serial)s already has open incident #%(id)s opened on another date")
                    % {"serial": serial, "id": other.pk},
                )
            )
        self.planned_devices.add(serial.upper())
        return {
            "serial_number": serial,
            "stage": stage,
            "opened_at": opened_at,
            "holder": holder,
            "location": location,
            "problem_group": group,
            "description": text(values.get("description")),
            **{name: text(values.get(name)) for name in DEVICE_DETAIL_FIELDS},
        }

    def _check_trail(self, values, errors, seen, number) -> dict:
        serial = text(values.get("serial_number"))
        if not serial:
            errors.append(("serial_number", _("a serial number is needed")))
        elif serial.upper() not in self.devices and serial.upper() not in self.planned_devices:
            errors.append(
                (
                    "serial_number",
                    _("device %(serial)s is neither in this workbook nor in the database")
                    % {"serial": serial},
                )
            )
        employee, location = text(values.get("employee_number")), text(values.get("location"))
        if employee and not self._known_employee(employee):
            errors.append(("employee_number", _("no employee %(number)s") % {"number": employee}))
        if location and not self._known_location(location):
            errors.append(("location", _("no location %(code)s") % {"code": location}))
        if not employee and not location:
            errors.append(("location", _("a location or an employee number is needed")))
        at = self._moment(values.get("at"), "at", errors)
        return {
            "serial_number": serial,
            "employee_number": employee,
            "location": location,
            "at": at,
            "reason": text(values.get("reason"))[:100],
        }

    def _moment(self, value, column: str, errors) -> datetime | None:
        try:
            return moment(value)
        except CellError as error:
            errors.append((column, str(error)))
            return None

    # --- writing --------------------------------------------------------------------------------
    def _department(self, name: str) -> Department | None:
        if not name:
            return None
        code = DEPARTMENT_SYNONYMS.get(normalise(name))
        department = self.departments.get(code) if code else None
        department = department or self.department_names.get(normalise(name))
        department = department or self.departments.get(name.upper()[:16])
        if department is None:
            department = Department.objects.create(code=name.upper()[:16], name=name)
            self.departments[department.code.upper()] = department
            self.department_names[normalise(name)] = department
        return department

    def _write_employees(self, rows: list[dict], report: ImportReport) -> None:
        summary = report.summaries[SheetKind.EMPLOYEES]
        new, changed, roles = [], [], []
        for row in rows:
            department = self._department(row["department"])
            employee = self.employees.get(row["employee_number"].upper())
            if employee is None:
                employee = Employee(
                    employee_number=row["employee_number"],
                    username=row["username"],
                    display_name=row["name"],
                    email=row["email"],
                    department=department,
                    is_superuser=row["role"] == Role.ADMIN,
                )
                employee.set_unusable_password()
                new.append(employee)
                self.employees[employee.employee_number.upper()] = employee
                summary.created += 1
            else:
                wanted = {
                    "display_name": row["name"],
                    "email": row["email"] or employee.email,
                    "department_id": department.pk if department else employee.department_id,
                }
                if any(getattr(employee, k) != v for k, v in wanted.items()):
                    for key, value in wanted.items():
                        setattr(employee, key, value)
                    changed.append(employee)
                    summary.updated += 1
                else:
                    summary.unchanged += 1
            roles.append((employee, row["role"], department))
        Employee.objects.bulk_create(new, batch_size=BATCH)
        Employee.objects.bulk_update(
            changed, ["display_name", "email", "department"], batch_size=BATCH
        )
        groups = {g.name: g for g in Group.objects.filter(name__in=Role.values)}
        memberships = [
            Employee.groups.through(employee_id=employee.pk, group_id=groups[role].pk)
            for employee, role, _department in roles
        ]
        Employee.groups.through.objects.bulk_create(memberships, ignore_conflicts=True)
        supervisors = [
            Department.supervisors.through(department_id=department.pk, employee_id=employee.pk)
            for employee, role, department in roles
            if role == Role.SUPERVISOR and department is not None
        ]
        Department.supervisors.through.objects.bulk_create(supervisors, ignore_conflicts=True)

    def _write_locations(self, rows: list[dict], report: ImportReport) -> None:
        summary = report.summaries[SheetKind.LOCATIONS]
        new, outcome = [], {}
        for row in rows:
            location = self.locations.get(row["code"].upper())
            if location is None:
                location = Location(code=row["code"], name=row["name"])
                new.append(location)
                self.locations[row["code"].upper()] = location
                outcome[row["code"]] = "created"
            else:
                outcome[row["code"]] = "updated" if location.name != row["name"] else "unchanged"
                location.name = row["name"]
        Location.objects.bulk_create(new, batch_size=BATCH)
        changed = []
        for row in rows:
            location = self.locations[row["code"].upper()]
            parent = self.locations.get(row["parent"].upper()) if row["parent"] else None
            if parent is not None and parent.pk == location.pk:
                parent = None
            if location.parent_id != (parent.pk if parent else None):
                location.parent = parent
                if outcome[row["code"]] == "unchanged":
                    outcome[row["code"]] = "updated"
            if outcome[row["code"]] != "unchanged":
                changed.append(location)
        Location.objects.bulk_update(changed, ["name", "parent"], batch_size=BATCH)
        for value in outcome.values():
            summary.count(value)

    def _write_register(self, rows: list[dict], report: ImportReport) -> None:
        summary = report.summaries[SheetKind.REGISTER]
        missing_groups = {
            row["problem_group"].upper(): row["problem_group"]
            for row in rows
            if row["problem_group"] and row["problem_group"].upper() not in self.groups
        }
        for group in ProblemGroup.objects.bulk_create(
            [ProblemGroup(number=number) for number in missing_groups.values()]
        ):
            self.groups[group.number.upper()] = group

        new_devices, changed_devices, outcomes = [], [], []
        for row in rows:
            wanted = {name: row[name] for name in DEVICE_DETAIL_FIELDS}
            location = self.locations.get(row["location"].upper()) if row["location"] else None
            holder = self.employees.get(row["holder"].upper()) if row["holder"] else None
            wanted["location_id"] = location.pk if location else None
            wanted["holder_id"] = holder.pk if holder else None
            device = self.devices.get(row["serial_number"].upper())
            if device is None:
                device = Device(serial_number=row["serial_number"], created_at=row["opened_at"])
                for key, value in wanted.items():
                    setattr(device, key, value)
                self._stamp(device, row["opened_at"])
                new_devices.append(device)
                self.devices[device.serial_number.upper()] = device
                outcomes.append("created")
            elif any(getattr(device, key) != value for key, value in wanted.items()):
                for key, value in wanted.items():
                    setattr(device, key, value)
                self._stamp(device, None)
                changed_devices.append(device)
                outcomes.append("updated")
            else:
                outcomes.append("unchanged")
        Device.objects.bulk_create(new_devices, batch_size=BATCH)
        self._write_history(Device, new_devices, "+")
        bulk_update_with_history(
            changed_devices,
            Device,
            [*DEVICE_DETAIL_FIELDS, "location", "holder"],
            batch_size=BATCH,
            default_user=self.user,
        )

        imported = {
            (incident.device_id, incident.opened_at): incident
            for incident in Incident.objects.filter(
                device__in=[self.devices[row["serial_number"].upper()] for row in rows]
            )
        }
        new_incidents = []
        for index, row in enumerate(rows):
            device = self.devices[row["serial_number"].upper()]
            group = self.groups.get(row["problem_group"].upper()) if row["problem_group"] else None
            incident = imported.get((device.pk, row["opened_at"]))
            if incident is None:
                closing = row["stage"] in TERMINAL_STAGES
                incident = Incident(
                    device=device,
                    problem_group=group,
                    stage=row["stage"],
                    step=Step.CLOSED if closing else Step.UNASSIGNED,
                    description=row["description"],
                    opened_at=row["opened_at"],
                    stage_entered_at=row["opened_at"],
                    closed_at=row["opened_at"] if closing else None,
                )
                self._stamp(incident, row["opened_at"])
                new_incidents.append(incident)
                outcomes[index] = "created"
                continue
            changed = False
            if incident.problem_group_id != (group.pk if group else None) or (
                incident.description != row["description"]
            ):
                Incident.objects.filter(pk=incident.pk).update(
                    problem_group=group, description=row["description"]
                )
                changed = True
            if incident.stage != row["stage"]:
                incident_import_stage(incident=incident, stage=row["stage"], by=self.user)
                changed = True
            if changed and outcomes[index] == "unchanged":
                outcomes[index] = "updated"
        Incident.objects.bulk_create(new_incidents, batch_size=BATCH)
        self._write_history(Incident, new_incidents, "+")
        IncidentEvent.objects.bulk_create(
            [
                IncidentEvent(
                    incident=incident,
                    action=WorkflowAction.OPEN,
                    actor=self.user,
                    from_stage=incident.stage,
                    to_stage=incident.stage,
                    from_step=incident.step,
                    to_step=incident.step,
                    comment=_("Imported from the legacy workbook"),
                    created_at=incident.opened_at,
                )
                for incident in new_incidents
            ],
            batch_size=BATCH,
        )
        for outcome in outcomes:
            summary.count(outcome)
        self.progress(SheetKind.REGISTER, len(rows), len(rows))

    def _write_trail(self, rows: list[dict], report: ImportReport) -> None:
        """Each trail row becomes a back-dated entry of the device's history: the legacy date,
        the person who took it, the place and the reason; the device's current state stays as
        the register says."""
        summary = report.summaries[SheetKind.TRAIL]
        devices = [self.devices[row["serial_number"].upper()] for row in rows]
        history = Device.history.model
        existing = set(
            history.objects.filter(id__in={device.pk for device in devices}).values_list(
                "id", "history_date", "location_id", "holder_id", "history_change_reason"
            )
        )
        entries = []
        for row, device in zip(rows, devices, strict=True):
            location = self.locations.get(row["location"].upper()) if row["location"] else None
            holder = (
                self.employees.get(row["employee_number"].upper())
                if row["employee_number"]
                else None
            )
            key = (
                device.pk,
                row["at"],
                location.pk if location else device.location_id,
                holder.pk if holder else device.holder_id,
                row["reason"],
            )
            if key in existing:
                summary.unchanged += 1
                continue
            existing.add(key)
            entry = copy.copy(device)
            entry.location_id, entry.holder_id = key[2], key[3]
            entry._history_date = row["at"]
            entry._history_user = holder or self.user
            entry._change_reason = row["reason"]
            entries.append(entry)
            summary.created += 1
        self._write_history(Device, entries, "~", progress_kind=SheetKind.TRAIL)

    def _write_history(self, model, instances, history_type: str, progress_kind=None) -> None:
        """The history rows simple-history's bulk helpers would write for `instances`; on
        PostgreSQL streamed with COPY, since history is most of what an import writes."""
        if not _use_copy():
            model.history.bulk_history_create(
                instances, update=history_type == "~", batch_size=BATCH
            )
            return
        history = model.history.model
        tracked = [field.attname for field in history.tracked_fields]
        columns = [*tracked, "history_date", "history_change_reason", "history_type"]
        columns.append("history_user_id")
        quote = connection.ops.quote_name
        statement = (
            f"COPY {quote(history._meta.db_table)} "
            f"({', '.join(quote(column) for column in columns)}) FROM STDIN"
        )
        now = timezone.now()
        connection.ensure_connection()
        with connection.connection.cursor() as cursor, cursor.copy(statement) as copy_in:
            for done, instance in enumerate(instances, start=1):
                user = getattr(instance, "_history_user", None)
                copy_in.write_row(
                    [
                        *(getattr(instance, attname) for attname in tracked),
                        getattr(instance, "_history_date", now),
                        getattr(instance, "_change_reason", "") or "",
                        history_type,
                        user.pk if user else None,
                    ]
                )
                if progress_kind and done % (PROGRESS_EVERY * 10) == 0:
                    self.progress(progress_kind, done, len(instances))
        if progress_kind:
            self.progress(progress_kind, len(instances), len(instances))

    def _stamp(self, obj, at: datetime | None) -> None:
        """History attributes for bulk writes: who imported it, and the legacy date if any."""
        obj._history_user = self.user
        obj._change_reason = IMPORT_REASON
        if at is not None:
            obj._history_date = at
