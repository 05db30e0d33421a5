"""Reading and checking each row of the legacy workbook against the database and the rows before it:
every invalid row of every sheet is reported as `sheet!row: column: what is wrong`, nothing is
written. Mixed into `LegacyImporter` (importer.py), whose state it reads."""

from datetime import datetime

from django.utils.translation import gettext as _

from incidents import access
from incidents.choices import TERMINAL_STAGES, Role, Stage
from incidents.legacy.columns import ROLE_SYNONYMS, STAGE_SYNONYMS, SheetKind, normalise
from incidents.legacy.report import ImportReport, SheetSummary
from incidents.legacy.workbook import CellError, LegacyError, LegacyWorkbook, moment, text
from incidents.models.incidents import problem_group_number_validator
from incidents.services.people import department_join_refusal
from locations.models import DEVICE_DETAIL_FIELDS
from locations.services import custody_refusal, location_parent_chain

# The failure each register row brings, written on the incident the row is about (when it failed
# is the row's registration date).
ROW_FAILURE_FIELDS = ("fail_station", "fail_item", "test_log_url")
PROGRESS_EVERY = 500


class RowChecksMixin:
    """The importer's reading and checking of rows."""

    # --- reading and checking ----------------------------------------------------------------
    def _read(self, book: LegacyWorkbook, kind: str, report: ImportReport) -> list[dict]:
        sheet = book.sheets[kind]
        summary = report.summaries.setdefault(kind, SheetSummary())
        check = getattr(self, f"_check_{kind}")
        total, rows, seen = book.row_count(kind), [], {}
        for done, row in enumerate(book.rows(kind), start=1):
            errors: list[tuple[str, str]] = []
            parsed = check(row.values, errors, seen, row.number)
            summary.rows += 1
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

    def _current_serial(self, serial: str) -> str:
        """The serial number a device has now, for one it had before a correction (an old
        workbook re-imported names the device as it was registered)."""
        device = self.device_aliases.get(serial.upper())
        return device.serial_number if device is not None else serial

    def _check_register(self, values, errors, seen, number) -> dict:
        serial = self._current_serial(text(values.get("serial_number")))
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
        if group and group not in self._group_numbers:
            try:
                problem_group_number_validator(group)
                self._group_numbers.add(group)
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
        serial = self._current_serial(text(values.get("serial_number")))
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
        # A workbook writes the same few dates as text on many rows: each is read once.
        known = self._moments.get(value) if isinstance(value, str) else None
        if known is not None:
            return known
        try:
            result = moment(value)
        except CellError as error:
            errors.append((column, str(error)))
            return None
        if isinstance(value, str):
            self._moments[value] = result
        return result
