"""Check the whole legacy workbook, plan every change, then write all of it in one
transaction — or nothing. A dry run stops after the plan: it reads, and writes nothing.

On SQLite (the embedded mode) one transaction holds the database's only write lock for as long
as it lasts (seconds for a large workbook), and every other write of the product — a chat
message, a scan — would wait that long and then fail. There the checked plan is applied in
short transactions of at most APPLY_BATCH rows each, so other writes wait a moment between two;
the plan was checked as a whole before the first is written, and should a batch still fail, the
import stops there and is started again: keys make it idempotent, so rows already written are
recognised and only the rest is written.

Every invalid row of every sheet is reported in one run as `sheet!row: column: what is wrong`.
Keys (employee number, location code, serial number, problem-group number) make it idempotent:
a second import of the same workbook creates nothing and reports everything unchanged. After
cut-over the product is the source of truth: a re-import never moves an incident backwards,
never reopens a closed one and never overrides what was changed in the product since the import
wrote it; such rows are reported as skipped, with the reason. An empty cell changes nothing.
Reads go through in-memory maps built with one query per table; writes are bulk, in batches,
through the same domain functions as the screens (`incident_build`, `employee_build`,
`event_build`…).
"""

import re
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from django.db import connection, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from incidents import access, audit, selectors
from incidents.choices import (
    TERMINAL_STAGES,
    Role,
    Stage,
)
from incidents.legacy.columns import (
    DEPARTMENT_SYNONYMS,
    ROLE_SYNONYMS,
    STAGE_SYNONYMS,
    SheetKind,
    normalise,
)
from incidents.legacy.workbook import CellError, LegacyError, LegacyWorkbook, moment, text
from incidents.models import Department, Employee, Incident, ProblemGroup
from incidents.models.incidents import problem_group_number_validator
from incidents.services.people import (
    department_join_refusal,
    employee_build,
    employee_change_refusal,
    employees_import,
)
from incidents.services.workflow import (
    incident_build,
    incident_import_refusal,
    incident_import_stage,
    incidents_import,
)
from locations.choices import IMPORT_REASON
from locations.models import DEVICE_DETAIL_FIELDS, Device, Location
from locations.services import (
    custody_refusal,
    device_build,
    device_trail_import,
    devices_import,
    location_parent_chain,
    locations_import,
)

BATCH = 1000
# The failure each register row brings, written on the incident the row is about (when it failed
# is the row's registration date).
ROW_FAILURE_FIELDS = ("fail_station", "fail_item", "test_log_url")
# A department named in Chinese in the workbook gets that as its Chinese name too.
CHINESE = re.compile(r"[\u3400-\u9fff]")
PROGRESS_EVERY = 500

Progress = Callable[[str, int, int], None]


# Rows written per transaction where one transaction would hold the whole database (SQLite).
APPLY_BATCH = 500
# The pause after each such transaction: a write waiting for the lock polls for it every 100 ms
# at most (SQLite's busy handler), and would never find it free if the next batch took it at once.
BATCH_PAUSE = 0.1


def _batches(rows: list) -> Iterator[list]:
    for start in range(0, len(rows), APPLY_BATCH):
        yield rows[start : start + APPLY_BATCH]
        time.sleep(BATCH_PAUSE)


@dataclass
class SheetSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: int = 0

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass
class PersonChange:
    """One change the workbook would make to a person, field by field (a role granted is one),
    made only when the administrator confirms it for the import. `key` names it the same in
    the check and in the import, whatever the language of the report."""

    sheet: str
    row: int
    person: str
    column: str
    before: str
    after: str
    key: str
    applied: bool = False

    def __str__(self) -> str:
        change = f"{self.before or '—'} → {self.after}"
        return f"{self.sheet}!{self.row}: {self.person}: {self.column}: {change}"


# `confirmed_people` for the command line: every change to people the run lists is made.
ALL_LISTED = "all-listed"


@dataclass
class ImportReport:
    dry_run: bool
    summaries: dict[str, SheetSummary] = field(default_factory=dict)
    errors: list[LegacyError] = field(default_factory=list)
    # Rows left alone on purpose (the product changed them since), with the reason.
    skipped: list[LegacyError] = field(default_factory=list)
    sheet_titles: dict[str, str] = field(default_factory=dict)
    # Every change to people the workbook asks for, made or not (`applied`).
    people_changes: list[PersonChange] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class Plan:
    """Every write an import will make, worked out before anything is written."""

    departments: list = field(default_factory=list)
    new_employees: list = field(default_factory=list)
    changed_employees: list = field(default_factory=list)  # (employee, {field: value})
    roles: list = field(default_factory=list)  # (employee, role, department)
    new_locations: list = field(default_factory=list)
    changed_locations: list = field(default_factory=list)
    groups: list = field(default_factory=list)
    new_devices: list = field(default_factory=list)
    changed_devices: list = field(default_factory=list)
    new_incidents: list = field(default_factory=list)
    changed_incidents: list = field(default_factory=list)  # (incident, changed field names)
    stage_moves: list = field(default_factory=list)  # (incident, stage)
    trail: list = field(default_factory=list)


class LegacyImporter:
    def __init__(
        self,
        source: str | Path | BinaryIO,
        *,
        user=None,
        progress=None,
        confirmed_people: Collection[str] | str | None = None,
    ):
        """`confirmed_people`: the keys of the changes to people (PersonChange.key) the
        administrator confirmed after the check, ALL_LISTED for every change the run lists
        (the command line's --change-people); by default the workbook changes nobody already
        in the product and grants no role."""
        self.source = source
        self.user = user
        self.progress: Progress = progress or (lambda kind, done, total: None)
        if confirmed_people is None:
            confirmed_people = ()
        self.confirmed_people = (
            confirmed_people if confirmed_people == ALL_LISTED else set(confirmed_people)
        )

    # --- the whole run ---------------------------------------------------------------------------
    def run(self, *, dry_run: bool = False) -> ImportReport:
        report = ImportReport(dry_run=dry_run)
        book = LegacyWorkbook(self.source)
        try:
            report.errors.extend(book.errors)
            report.sheet_titles = {kind: sheet.title for kind, sheet in book.sheets.items()}
            self.sheets = dict(book.sheets)
            if report.errors:
                return report
            self._load_database()
            parsed = {kind: self._read(book, kind, report) for kind in book.sheets}
            self._check_location_loops(book, parsed[SheetKind.LOCATIONS], report)
        finally:
            book.close()
        if report.errors:
            for summary in report.summaries.values():
                summary.created = summary.updated = summary.unchanged = summary.skipped = 0
            return report
        self.report = report
        self.plan = Plan()
        self._plan_employees(parsed[SheetKind.EMPLOYEES])
        self._plan_locations(parsed[SheetKind.LOCATIONS])
        self._plan_register(parsed[SheetKind.REGISTER])
        self._plan_trail(parsed[SheetKind.TRAIL])
        if not dry_run:
            with audit.acting_as(self.user):
                if connection.vendor == "sqlite":
                    self._apply_in_batches()
                else:
                    with transaction.atomic():
                        self._apply_employees()
                        self._apply_locations()
                        self._apply_register()
                        self._apply_trail()
        return report

    def _apply_in_batches(self) -> None:
        """The plan in short transactions (SQLite's write lock is the whole database's): people
        and places, then devices, incidents, stage moves and trail entries a batch at a time."""
        plan, by = self.plan, self.user
        with transaction.atomic():
            self._apply_employees()
            self._apply_locations()
        time.sleep(BATCH_PAUSE)
        for chunk in _batches(plan.new_devices):
            devices_import(created=chunk, by=by)
        for chunk in _batches(plan.changed_devices):
            devices_import(changed=chunk, by=by)
        incidents_import(groups=plan.groups, by=by)
        done, total = 0, len(plan.new_incidents)
        for chunk in _batches(plan.new_incidents):
            incidents_import(created=chunk, by=by)
            done += len(chunk)
            self.progress(SheetKind.REGISTER, done, total)
        for chunk in _batches(plan.changed_incidents):
            incidents_import(changed=chunk, by=by)
        for incident, stage in plan.stage_moves:
            incident_import_stage(incident=incident, stage=stage, by=by)
        self.progress(SheetKind.REGISTER, total, total)
        entries = self._trail_entries()
        for start in range(0, len(entries), APPLY_BATCH):
            with transaction.atomic():
                device_trail_import(entries=entries[start : start + APPLY_BATCH], by=by)
            time.sleep(BATCH_PAUSE)
            self.progress(SheetKind.TRAIL, min(start + APPLY_BATCH, len(entries)), len(entries))

    def _load_database(self) -> None:
        self.employees = {e.employee_number.upper(): e for e in Employee.objects.all()}
        self.roles: dict[int, set[str]] = {}
        for employee_id, role in Employee.groups.through.objects.filter(
            group__name__in=Role.values
        ).values_list("employee_id", "group__name"):
            self.roles.setdefault(employee_id, set()).add(role)
        self.usernames = {e.username.lower(): e for e in self.employees.values()}
        self.locations = {
            loc.code.upper(): loc for loc in Location.objects.select_related("parent")
        }
        self.devices = {d.serial_number.upper(): d for d in Device.objects.all()}
        self.departments = {d.code.upper(): d for d in Department.objects.all()}
        # Either name finds a department: the workbook may say 生产 or Production.
        self.department_names = {
            normalise(name): d
            for d in self.departments.values()
            for name in (d.name, d.name_zh)
            if name
        }
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
        department = self._known_department(text(values.get("department")))
        person = self.employees.get(employee_number.upper())
        if department is not None and (person is None or person.department_id != department.pk):
            # Created in it or moved into it: refused as the person's page refuses it.
            refusal = department_join_refusal(department)
            if refusal:
                errors.append(("department", refusal))
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
            "row": number,
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
        stage_text = normalise(values.get("stage"))
        stage = STAGE_SYNONYMS.get(stage_text, Stage.REPORTED if not stage_text else None)
        if stage is None:
            errors.append(
                ("stage", _("unknown stage '%(stage)s'") % {"stage": text(values.get("stage"))})
            )
        opened_at = self._moment(values.get("opened_at"), "opened_at", errors)
        if not serial:
            errors.append(("serial_number", _("a serial number is needed")))
        elif opened_at is not None:
            # A device may fail again after a repair: each of its failures is a row of its own,
            # told apart by when it was registered.
            key = (serial.upper(), opened_at)
            if key in seen:
                message = _("%(key)s appears again (first on row %(row)s)")
                errors.append(("serial_number", message % {"key": serial, "row": seen[key]}))
            else:
                seen[key] = number
            if stage is not None and stage not in TERMINAL_STAGES:
                first = seen.setdefault(("open", serial.upper()), number)
                if first != number:
                    errors.append(
                        (
                            "stage",
                            _(
                                "%(serial)s is open on row %(row)s too: a device has one open "
                                "incident at a time"
                            )
                            % {"serial": serial, "row": first},
                        )
                    )
        holder, location = text(values.get("holder")), text(values.get("location"))
        if holder and not self._known_employee(holder):
            errors.append(("holder", _("no employee %(number)s") % {"number": holder}))
        if location and not self._known_location(location):
            errors.append(("location", _("no location %(code)s") % {"code": location}))
        self._check_custody(serial, holder, location, errors)
        self._check_confidential(serial, text(values.get("project")), errors)
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
            "row": number,
            "serial_number": serial,
            "stage": stage,
            "opened_at": opened_at,
            "holder": holder,
            "location": location,
            "problem_group": group,
            "description": text(values.get("description")),
            **{name: text(values.get(name)) for name in DEVICE_DETAIL_FIELDS},
            **{name: text(values.get(name)) for name in ROW_FAILURE_FIELDS},
        }

    def _check_confidential(self, serial: str, project: str, errors) -> None:
        """Whoever imports sees the projects the workbook writes and the devices it changes: a
        confidential project not open to them is refused (nobody named: the command line,
        which administrators run)."""
        if self.user is None:
            return
        device = self.devices.get(serial.upper()) if serial else None
        if project and not access.may_see_project(project, self.user):
            errors.append(
                (
                    "project",
                    _("project %(project)s is confidential and not open to you")
                    % {"project": project},
                )
            )
        elif device is not None and not access.may_see_device(device, self.user):
            errors.append(
                (
                    "serial_number",
                    _("device %(serial)s belongs to a confidential project not open to you")
                    % {"serial": serial},
                )
            )

    def _check_custody(self, serial: str, holder: str, location: str, errors) -> None:
        """The custody rules of the scan station (`custody_refusal`): an inactive person or
        place takes no device (one that already holds it may keep it)."""
        device = self.devices.get(serial.upper())
        person = self.employees.get(holder.upper()) if holder else None
        refusal = custody_refusal(device=device, holder=person)
        if refusal:
            errors.append(("holder", refusal))
        place = self.locations.get(location.upper()) if location else None
        refusal = custody_refusal(device=device, location=place)
        if refusal:
            errors.append(("location", refusal))

    def _check_location_loops(self, book, rows: list[dict], report: ImportReport) -> None:
        """Parents that are nowhere, or that would put a location inside itself, counting the
        locations already in the database."""
        if SheetKind.LOCATIONS not in book.sheets:
            return
        sheet = book.sheets[SheetKind.LOCATIONS]
        parents = {
            code.upper(): (location.parent.code.upper() if location.parent_id else None)
            for code, location in ((loc.code, loc) for loc in self.locations.values())
        }
        for row in rows:
            if row["parent"]:
                parents[row["code"].upper()] = row["parent"].upper()
            else:  # an empty cell keeps the parent it has
                parents.setdefault(row["code"].upper(), None)
        summary = report.summaries[SheetKind.LOCATIONS]
        for row in rows:
            if not row["parent"]:
                continue
            problem = None
            if row["parent"].upper() not in parents:
                problem = _("no location %(code)s (neither in this workbook nor in the database)")
                problem %= {"code": row["parent"]}
            else:
                chain = location_parent_chain(parents, row["code"].upper())
                if chain and chain[-1] in [*chain[:-1], row["code"].upper()]:
                    path = " → ".join([row["code"], *chain])
                    problem = _("its parents go round in a loop (%(path)s)") % {"path": path}
            if problem:
                summary.errors += 1
                report.errors.append(
                    LegacyError(sheet.title, row["row"], sheet.column_name("parent"), problem)
                )

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
        self._check_confidential(serial, "", errors)
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

    # --- planning: every outcome worked out, nothing written ------------------------------------
    def _skip(self, kind: str, row: dict, column: str, message: str) -> None:
        sheet_title = self.report.sheet_titles.get(kind, kind)
        self.report.skipped.append(LegacyError(sheet_title, row["row"], column, message))

    def _known_department(self, name: str) -> Department | None:
        """The department the workbook names, by code, synonym or either name, if it exists."""
        if not name:
            return None
        code = DEPARTMENT_SYNONYMS.get(normalise(name))
        department = self.departments.get(code) if code else None
        department = department or self.department_names.get(normalise(name))
        return department or self.departments.get(name.upper()[:16])

    def _department(self, name: str) -> Department | None:
        if not name:
            return None
        department = self._known_department(name)
        if department is None:
            chinese = name if CHINESE.search(name) else ""
            department = Department(code=name.upper()[:16], name=name, name_zh=chinese)
            self.plan.departments.append(department)
            self.departments[department.code.upper()] = department
            self.department_names[normalise(name)] = department
        return department

    def _plan_employees(self, rows: list[dict]) -> None:
        """New people come in as staff. Everything else the workbook says about people (a
        changed name, e-mail or department, a role granted, to anyone) is listed field by field
        and made only when confirmed for this import; the rules of the person's page
        (`employee_change_refusal`) hold either way."""
        summary = self.report.summaries[SheetKind.EMPLOYEES]
        for row in rows:
            department = self._department(row["department"])
            employee = self.employees.get(row["employee_number"].upper())
            if employee is None:
                employee = employee_build(
                    employee_number=row["employee_number"],
                    username=row["username"],
                    display_name=row["name"],
                    email=row["email"],
                    department=department,
                )
                self.plan.new_employees.append(employee)
                self.employees[employee.employee_number.upper()] = employee
                summary.created += 1
                if row["role"] != Role.STAFF:
                    change = self._role_change(row, employee, set(), department)
                    self._decide_people(row, employee, {}, change, department, new=True)
                continue
            wanted = {}
            if row["name"] and row["name"] != employee.display_name:
                wanted["display_name"] = row["name"]
            if row["email"] and row["email"] != employee.email:
                wanted["email"] = row["email"]
            if department is not None and department != employee.department:
                wanted["department"] = department
            roles = self.roles.get(employee.pk, set())
            supervised = department or employee.department
            change = (
                self._role_change(row, employee, roles, supervised)
                if row["role"] not in roles
                else None
            )
            if not wanted and change is None:
                summary.unchanged += 1
                continue
            outcome = self._decide_people(row, employee, wanted, change, supervised, new=False)
            summary.count(outcome)

    def _field_change(self, row, employee, name: str, value) -> PersonChange:
        column = {"display_name": "name"}.get(name, name)
        before, after = getattr(employee, name), value
        if name == "department":
            key = f"{getattr(before, 'code', '')}|{value.code}"
            before, after = (str(before) if before else ""), str(value)
        else:
            key = f"{before}|{after}"
        return PersonChange(
            sheet=self.report.sheet_titles[SheetKind.EMPLOYEES],
            row=row["row"],
            person=str(employee),
            column=self.sheets[SheetKind.EMPLOYEES].column_name(column),
            before=before,
            after=after,
            key=f"{employee.employee_number.upper()}|{name}|{key}",
        )

    def _role_change(self, row, employee, roles: set[str], supervised) -> PersonChange:
        role = Role(row["role"])

        def names(values) -> str:
            return ", ".join(str(Role(value).label) for value in sorted(values))

        after = names(roles | {role})
        if role == Role.SUPERVISOR and supervised is not None:
            after = _("%(roles)s (supervises %(department)s)") % {
                "roles": after,
                "department": supervised,
            }
        code = supervised.code if role == Role.SUPERVISOR and supervised is not None else ""
        return PersonChange(
            sheet=self.report.sheet_titles[SheetKind.EMPLOYEES],
            row=row["row"],
            person=str(employee),
            column=self.sheets[SheetKind.EMPLOYEES].column_name("role"),
            before=names(roles),
            after=after,
            key=f"{employee.employee_number.upper()}|role|+{role}|{code}",
        )

    def _confirmed(self, change: PersonChange) -> bool:
        return self.confirmed_people == ALL_LISTED or change.key in self.confirmed_people

    def _decide_people(self, row, employee, wanted: dict, role_change, supervised, *, new: bool):
        """List the changes to one person and plan those confirmed; the outcome of the row."""
        changes = {
            name: self._field_change(row, employee, name, value) for name, value in wanted.items()
        }
        listed = [*changes.values(), *([role_change] if role_change else [])]
        self.report.people_changes.extend(listed)
        sheet = self.sheets[SheetKind.EMPLOYEES]
        refusal = None if new else employee_change_refusal(employee=employee, by=self.user)
        if refusal:
            self._skip(SheetKind.EMPLOYEES, row, sheet.column_name("employee_number"), refusal)
            return "skipped"
        if "department" in wanted:
            refusal = employee_change_refusal(
                employee=employee, by=self.user, department=wanted["department"]
            )
            if refusal:
                self._skip(SheetKind.EMPLOYEES, row, changes["department"].column, refusal)
                listed.remove(changes.pop("department"))
                del wanted["department"]
        if not self.confirmed_people:
            if listed:
                self._skip(
                    SheetKind.EMPLOYEES,
                    row,
                    listed[0].column,
                    self._unconfirmed(employee, role_change, new),
                )
            return "created" if new else "skipped"
        for change in listed:
            if self._confirmed(change):
                change.applied = True
            else:
                self._skip(
                    SheetKind.EMPLOYEES,
                    row,
                    change.column,
                    _(
                        "%(change)s was not among the changes confirmed for this import (the "
                        "person or the workbook changed since the check)"
                    )
                    % {"change": f"{change.before or '—'} → {change.after}"},
                )
        applied = {name: wanted[name] for name, change in changes.items() if change.applied}
        if applied:
            self.plan.changed_employees.append((employee, applied))
        if role_change is not None and role_change.applied:
            self.plan.roles.append((employee, row["role"], supervised))
        if new:
            return "created"
        return "updated" if applied or (role_change and role_change.applied) else "skipped"

    @staticmethod
    def _unconfirmed(employee, role_change, new: bool) -> str:
        if new:
            return _(
                "%(person)s comes in as staff: the workbook grants a role (%(roles)s) only when "
                "it is confirmed for this import"
            ) % {"person": employee, "roles": role_change.after}
        return _(
            "%(person)s is already in the product: the workbook changes nobody there (nor their "
            "roles) unless the changes listed for them are confirmed for this import"
        ) % {"person": employee}

    def _plan_locations(self, rows: list[dict]) -> None:
        summary = self.report.summaries[SheetKind.LOCATIONS]
        outcome = {}
        for row in rows:
            location = self.locations.get(row["code"].upper())
            if location is None:
                location = Location(code=row["code"], name=row["name"])
                self._stamp(location, None)
                self.plan.new_locations.append(location)
                self.locations[row["code"].upper()] = location
                outcome[row["code"]] = "created"
            elif location.name != row["name"]:
                location.name = row["name"]
                outcome[row["code"]] = "updated"
            else:
                outcome[row["code"]] = "unchanged"
        for row in rows:
            location = self.locations[row["code"].upper()]
            if not row["parent"]:
                continue  # an empty cell keeps the parent it has
            parent = self.locations[row["parent"].upper()]
            current = location.parent.code.upper() if location.parent is not None else None
            if current != parent.code.upper():
                location.parent = parent
                if outcome[row["code"]] == "unchanged":
                    outcome[row["code"]] = "updated"
        for row in rows:
            if outcome[row["code"]] == "updated":
                location = self.locations[row["code"].upper()]
                self._stamp(location, None)
                self.plan.changed_locations.append(location)
        for value in outcome.values():
            summary.count(value)

    def _product_changed_devices(self, devices: list[Device]) -> set[int]:
        """Devices changed in the product since an import last wrote them (moved, handed over,
        edited), or registered in the product: the workbook no longer speaks for them."""
        if not devices:
            return set()
        history = Device.history.model
        latest = (
            history.objects.filter(
                id__in=[d.pk for d in devices], history_change_reason=IMPORT_REASON
            )
            .values("id")
            .annotate(last=Max("history_id"))
            .values_list("last", flat=True)
        )
        tracked = ["id", "location_id", "holder_id", *DEVICE_DETAIL_FIELDS]
        written = {
            row["id"]: row for row in history.objects.filter(history_id__in=latest).values(*tracked)
        }
        return {
            device.pk
            for device in devices
            if device.pk not in written
            or any(getattr(device, name) != written[device.pk][name] for name in tracked)
        }

    def _plan_register(self, rows: list[dict]) -> None:
        summary = self.report.summaries[SheetKind.REGISTER]
        missing_groups = {
            row["problem_group"].upper(): row["problem_group"]
            for row in rows
            if row["problem_group"] and row["problem_group"].upper() not in self.groups
        }
        # A group the workbook names comes into being with its first incident: the register
        # gives no other date for it (the dashboard's "open for" reads it).
        first_seen: dict[str, datetime] = {}
        for row in rows:
            key = (row["problem_group"] or "").upper()
            if key in missing_groups and row["opened_at"] is not None:
                first_seen[key] = min(first_seen.get(key, row["opened_at"]), row["opened_at"])
        for key, number in missing_groups.items():
            group = ProblemGroup(number=number)
            if key in first_seen:
                group.created_at = first_seen[key]
            self.plan.groups.append(group)
            self.groups[key] = group

        existing = list(
            {
                row["serial_number"].upper(): self.devices[row["serial_number"].upper()]
                for row in rows
                if row["serial_number"].upper() in self.devices
            }.values()
        )
        changed_in_product = self._product_changed_devices(existing)
        # A device on several rows (it failed again after a repair) is what its newest row says,
        # an empty cell keeping what an older row said; that row carries the device's outcome.
        rows_of_device: dict[str, list[int]] = {}
        for index, row in enumerate(rows):
            rows_of_device.setdefault(row["serial_number"].upper(), []).append(index)
        outcomes = ["unchanged"] * len(rows)
        for serial, indexes in rows_of_device.items():
            indexes.sort(key=lambda index: rows[index]["opened_at"])
            index = indexes[-1]
            row, first = rows[index], rows[indexes[0]]
            wanted = {}
            for each in indexes:
                wanted.update(self._device_wanted(rows[each]))
            device = self.devices.get(serial)
            if device is None:
                device = device_build(
                    serial_number=row["serial_number"], created_at=first["opened_at"], **wanted
                )
                self._stamp(device, first["opened_at"])
                self.plan.new_devices.append(device)
                self.devices[serial] = device
                outcomes[index] = "created"
            elif any(getattr(device, key) != value for key, value in wanted.items()):
                if device.pk in changed_in_product:
                    self._skip(
                        SheetKind.REGISTER,
                        row,
                        "serial_number",
                        _(
                            "device %(serial)s was moved or changed in the product since it was "
                            "imported; the workbook no longer changes it"
                        )
                        % {"serial": device.serial_number},
                    )
                    outcomes[index] = "skipped"
                    continue
                for key, value in wanted.items():
                    setattr(device, key, value)
                self._stamp(device, None)
                self.plan.changed_devices.append(device)
                outcomes[index] = "updated"

        matched = {
            (incident.device_id, incident.opened_at): incident
            for incident in Incident.objects.filter(
                device__in=[d for d in existing if d.pk is not None]
            ).select_related("problem_group")
        }
        changed_in_product = selectors.incidents_worked_in_product(list(matched.values()))
        for index, row in enumerate(rows):
            device = self.devices[row["serial_number"].upper()]
            group = self.groups.get(row["problem_group"].upper()) if row["problem_group"] else None
            incident = matched.get((device.pk, row["opened_at"])) if device.pk else None
            if incident is None:
                incident = incident_build(
                    device=device,
                    reporter=None,
                    problem_group=group,
                    description=row["description"],
                    opened_at=row["opened_at"],
                    stage=row["stage"],
                    failed_at=row["opened_at"],
                    **{name: row[name] for name in ROW_FAILURE_FIELDS},
                )
                self._stamp(incident, row["opened_at"])
                self.plan.new_incidents.append(incident)
                if outcomes[index] != "skipped":
                    outcomes[index] = "created"
                continue
            reason = self._incident_refusal(incident, row, group, changed_in_product)
            if reason:
                self._skip(SheetKind.REGISTER, row, "stage", reason)
                outcomes[index] = "skipped"
                continue
            changed = []
            if group is not None and incident.problem_group != group:
                incident.problem_group = group
                changed.append("problem_group")
            for name in ("description", *ROW_FAILURE_FIELDS):
                if row[name] and getattr(incident, name) != row[name]:
                    setattr(incident, name, row[name])
                    changed.append(name)
            if changed:
                self._stamp(incident, None)
                self.plan.changed_incidents.append((incident, changed))
            if incident.stage != row["stage"]:
                self.plan.stage_moves.append((incident, row["stage"]))
            if (changed or incident.stage != row["stage"]) and outcomes[index] == "unchanged":
                outcomes[index] = "updated"
        for outcome in outcomes:
            summary.count(outcome)

    def _device_wanted(self, row: dict) -> dict:
        """What a register row says the device is and where it is (an empty cell: nothing)."""
        wanted = {name: row[name] for name in DEVICE_DETAIL_FIELDS if row[name]}
        if row["location"]:
            wanted["location"] = self.locations[row["location"].upper()]
        if row["holder"]:
            wanted["holder"] = self.employees[row["holder"].upper()]
        return wanted

    def _incident_refusal(self, incident, row, group, changed_in_product) -> str | None:
        """Why the workbook may not change this incident any more; None when it may (or when
        it would change nothing)."""
        differs = (
            incident.stage != row["stage"]
            or (group is not None and incident.problem_group != group)
            or any(
                row[name] and getattr(incident, name) != row[name]
                for name in ("description", *ROW_FAILURE_FIELDS)
            )
        )
        if not differs:
            return None
        return incident_import_refusal(
            incident=incident,
            stage=row["stage"],
            worked_in_product=incident.pk in changed_in_product,
        )

    def _plan_trail(self, rows: list[dict]) -> None:
        """Each trail row becomes a back-dated entry of the device's history: the legacy date,
        the person who took it, the place and the reason; the device's current state stays as
        the register says."""
        summary = self.report.summaries[SheetKind.TRAIL]
        devices = [self.devices[row["serial_number"].upper()] for row in rows]
        history = Device.history.model
        existing = set(
            history.objects.filter(
                id__in={device.pk for device in devices if device.pk is not None}
            ).values_list("id", "history_date", "location_id", "holder_id", "history_change_reason")
        )
        for row, device in zip(rows, devices, strict=True):
            location = self.locations.get(row["location"].upper()) if row["location"] else None
            holder = (
                self.employees.get(row["employee_number"].upper())
                if row["employee_number"]
                else None
            )
            place = location if location is not None else device.location
            person = holder if holder is not None else device.holder
            key = (
                device.pk,
                row["at"],
                place.pk if place is not None else None,
                person.pk if person is not None else None,
                row["reason"],
            )
            if device.pk is not None and key in existing:
                summary.unchanged += 1
                continue
            existing.add(key)
            self.plan.trail.append((device, place, person, row))
            summary.created += 1

    # --- writing: the plan, in one transaction -------------------------------------------------
    def _apply_employees(self) -> None:
        plan = self.plan
        employees_import(
            departments=plan.departments,
            created=plan.new_employees,
            changed=plan.changed_employees,
            grants=plan.roles,
            by=self.user,
        )

    def _apply_locations(self) -> None:
        locations_import(
            created=self.plan.new_locations, changed=self.plan.changed_locations, by=self.user
        )

    def _apply_register(self) -> None:
        plan = self.plan
        devices_import(created=plan.new_devices, changed=plan.changed_devices, by=self.user)
        incidents_import(
            groups=plan.groups,
            created=plan.new_incidents,
            changed=plan.changed_incidents,
            by=self.user,
        )
        for incident, stage in plan.stage_moves:
            incident_import_stage(incident=incident, stage=stage, by=self.user)
        self.progress(SheetKind.REGISTER, len(plan.new_incidents), len(plan.new_incidents))

    def _apply_trail(self) -> None:
        def progress(done: int, total: int) -> None:
            self.progress(SheetKind.TRAIL, done, total)

        device_trail_import(entries=self._trail_entries(), by=self.user, progress=progress)

    def _trail_entries(self) -> list:
        return [
            (device, place, person, row["at"], row["reason"])
            for device, place, person, row in self.plan.trail
        ]

    def _stamp(self, obj, at: datetime | None) -> None:
        """History attributes for bulk writes: who imported it, and the legacy date if any."""
        obj._history_user = self.user
        obj._change_reason = IMPORT_REASON
        if at is not None:
            obj._history_date = at
