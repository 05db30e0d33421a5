"""Planning a legacy import: every write it will make — places, devices, problem groups,
incidents, stage moves and trail entries — worked out before anything is written, and every row
the product now speaks for reported as skipped, with the reason (people: people.py). Mixed into
`LegacyImporter` (importer.py)."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Max
from django.utils.translation import gettext as _

from incidents import selectors
from incidents.choices import Stage
from incidents.legacy.checks import ROW_FAILURE_FIELDS
from incidents.legacy.columns import SheetKind
from incidents.legacy.workbook import LegacyError
from incidents.models import Incident, ProblemGroup
from incidents.services.workflow import incident_build, incident_import_refusal
from locations.choices import IMPORT_REASON
from locations.models import DEVICE_DETAIL_FIELDS, Device, Location
from locations.services import device_build


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


class PlanMixin:
    """The importer's planning of places, the register and the trail."""

    # --- planning: every outcome worked out, nothing written ------------------------------------
    def _skip(self, kind: str, row: dict, column: str, message: str) -> None:
        sheet_title = self.report.sheet_titles.get(kind, kind)
        self.report.skipped.append(LegacyError(sheet_title, row["row"], column, message))

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
                # The workbook has no column for when the incident entered its stage: only one
                # still in its first stage entered it when it was registered.
                incident.stage_entered_known = incident.stage == Stage.REPORTED
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
