"""Check the whole legacy workbook, plan every change, then write all of it in one
transaction — or nothing. A dry run stops after the plan: it reads, and writes nothing.

On SQLite (the embedded mode) one transaction holds the database's only write lock for as long
as it lasts (seconds for a large workbook), and every other write of the product — a chat
message, a scan — would wait that long and then fail. There the checked plan is applied in
short transactions, each holding the lock about HOLD_SECONDS (writing.py), so other writes
wait a moment between two; the plan was checked as a whole before the first is written, and
should a batch still fail, the import stops there and is started again: keys make it
idempotent, so rows already written are recognised and only the rest is written.

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

from collections.abc import Callable, Collection
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from django.db import connection, transaction

from incidents import audit
from incidents.choices import TERMINAL_STAGES, Role
from incidents.legacy.checks import RowChecksMixin
from incidents.legacy.columns import SheetKind, normalise
from incidents.legacy.people import PeoplePlanMixin
from incidents.legacy.plan import Plan, PlanMixin
from incidents.legacy.report import ALL_LISTED, ImportReport
from incidents.legacy.workbook import LegacyWorkbook
from incidents.legacy.writing import WriteMixin
from incidents.models import Department, Employee, Incident, ProblemGroup
from locations.models import Device, DeviceAlias, Location

Progress = Callable[[str, int, int], None]


class LegacyImporter(RowChecksMixin, PeoplePlanMixin, PlanMixin, WriteMixin):
    """One import of the legacy workbook: load the database's keys, then read and check every
    row (checks.py), plan every change (people.py, plan.py) and write the plan (writing.py)."""

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
        # A serial number corrected since the workbook was written still names its device.
        self.device_aliases = {
            alias.serial_number.upper(): self.devices[alias.device.serial_number.upper()]
            for alias in DeviceAlias.objects.select_related("device")
        }
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
        # Dates written as text, as read, and problem-group numbers found well formed: each
        # checked once per import, not once per row (checks.py).
        self._moments: dict[str, datetime] = {}
        self._group_numbers: set[str] = set()
