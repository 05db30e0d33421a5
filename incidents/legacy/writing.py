"""Writing a legacy import's checked plan through the services: in one transaction on PostgreSQL,
in short ones on SQLite (whose one write lock is the whole database's). Mixed into
`LegacyImporter` (importer.py)."""

import time
from collections.abc import Iterator
from datetime import datetime

from django.db import transaction

from incidents.legacy.columns import SheetKind
from incidents.services.people import employees_import
from incidents.services.workflow import incident_import_stage, incidents_import
from locations.choices import IMPORT_REASON
from locations.services import device_trail_import, devices_import, locations_import

BATCH = 1000

# Where one transaction would hold the whole database (SQLite), the plan is written in
# transactions that each hold the write lock about HOLD_SECONDS: the first of each kind of
# write takes APPLY_BATCH rows, the next ones as many as the pace so far fits in that time.
HOLD_SECONDS = 0.5
APPLY_BATCH = 500
# The pause after each such transaction: a write waiting for the lock polls for it every 100 ms
# at most (SQLite's busy handler), and would never find it free if the next batch took it at once.
BATCH_PAUSE = 0.1


def _batches(rows: list) -> Iterator[list]:
    """`rows` a transaction's worth at a time (the caller writes each chunk in one), a pause
    after each."""
    start, size = 0, APPLY_BATCH
    while start < len(rows):
        chunk = rows[start : start + size]
        began = time.perf_counter()
        yield chunk
        took = time.perf_counter() - began
        start += len(chunk)
        # Never more than ten times the last chunk: one fast chunk proves little.
        size = max(1, min(10 * len(chunk), int(len(chunk) * HOLD_SECONDS / max(took, 0.001))))
        time.sleep(BATCH_PAUSE)


class WriteMixin:
    """The importer's writing of the plan."""

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
        entries, done = self._trail_entries(), 0
        for chunk in _batches(entries):
            with transaction.atomic():
                device_trail_import(entries=chunk, by=by)
            done += len(chunk)
            self.progress(SheetKind.TRAIL, done, len(entries))

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
