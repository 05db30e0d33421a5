"""What test stations report: each result stored once (a station's result id is its key, so a
batch sent again, whole or in part, in any order, adds nothing), a refused row refused alone.

A result names a known, active station (`incidents.services.stations`; an unknown name becomes a
station on its first result only when `RESULTS_REGISTER_UNKNOWN_STATIONS` says so), and is kept
under the station's own name whatever the case it was sent in. A device that fails the same
station its number of times in a row (the station's own, else `RESULTS_FAILS_TO_OPEN`, 3 by
default; runs counted by when they were tested, a pass in between starting the count again, and
only runs since the device's last incident) gets an incident opened through `incident_open`,
its failure the failing runs' station and items with their log links, and is moved (through
`device_move`) to where the first stage works, when the stage's ownership names a place. A
device with an open incident gets no second one: its results are kept with the device."""

import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Window
from django.db.models.functions import Greatest, RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _

from config.kit.bulk import rows_write
from incidents.choices import OPEN_STAGES
from incidents.models import ApiToken, Incident, StationResult
from incidents.selectors import stage_work_location
from incidents.services.errors import WorkflowError
from incidents.services.stations import fails_to_open, stations_named
from incidents.services.workflow import incident_open
from locations.models import Device
from locations.serials import devices_by_serial, serial_key
from locations.services import device_move, device_register

# A station's clock may run a little ahead of ours; beyond this a result is from the future.
CLOCK_SKEW = timedelta(minutes=5)
STORED, DUPLICATE, ERROR = "stored", "duplicate", "error"


@dataclass
class ResultRow:
    """One result as a station reports it, its types already checked."""

    result_id: str
    serial_number: str
    station: str
    test_item: str
    passed: bool
    tested_at: datetime
    value: float | None = None
    low_limit: float | None = None
    high_limit: float | None = None
    log_url: str = ""


@dataclass
class RowOutcome:
    result_id: str
    status: str
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class ResultsRecorded:
    rows: list[RowOutcome]
    incidents_opened: list[int] = field(default_factory=list)


def _refusals(row: ResultRow, now: datetime) -> dict[str, str]:
    errors = {}
    if row.tested_at > now + CLOCK_SKEW:
        errors["tested_at"] = _("is in the future (the station's clock?)")
    if row.low_limit is not None and row.high_limit is not None and row.low_limit > row.high_limit:
        errors["low_limit"] = _("is above the high limit")
    return errors


def _devices(serials: set[str], person) -> dict[str, Device]:
    """The devices named, by their serial number in capitals (serial numbers are one ignoring
    case), or by the one they had before a correction; a person finds only those of projects
    they see, a station every device it tests."""
    devices = Device.objects.all()
    if person is not None:
        devices = devices.visible_to(person)
    return devices_by_serial(serials, devices)


def _registered(serials: set[str], known: dict, rows: list[ResultRow], now) -> dict:
    """Registers the serial numbers no device has yet (the line's first result of a device, when
    the factory lets results register devices), for rows that will be stored."""
    usable = {row.serial_number for row in rows if not _refusals(row, now)}
    registered = {}
    for serial in sorted(serials & usable):
        if serial.upper() in known or serial.upper() in registered:
            continue
        try:
            device = device_register(serial_number=serial, registered_by=None)
        except (ValidationError, IntegrityError):
            # Registered meanwhile by another request, or a serial number no device may have.
            device = Device.objects.filter(serial_key=serial_key(serial)).first()
            if device is None:
                continue
        registered[serial.upper()] = device
    return registered


def station_results_record(
    *, rows: list[ResultRow], token: ApiToken | None = None, person=None
) -> ResultsRecorded:
    """Stores the rows that hold, each once, and says for each row whether it was stored, was
    there already (the same station and result id) or was refused, and why; then opens an
    incident for each device the new failures show failing a station too many times in a
    row."""
    now = timezone.now()
    devices = _devices({row.serial_number for row in rows}, person)
    if token is not None and settings.RESULTS_REGISTER_UNKNOWN_DEVICES:
        devices |= _registered({row.serial_number for row in rows}, devices, rows, now)
    stations = stations_named(
        {row.station for row in rows},
        register=token is not None and settings.RESULTS_REGISTER_UNKNOWN_STATIONS,
    )
    known = set(
        StationResult.objects.filter(
            station__in={station.name for station in stations.values()},
            result_id__in={row.result_id for row in rows},
        ).values_list("station", "result_id")
    )
    outcomes, new, failing = [], [], set()
    for row in rows:
        errors = _refusals(row, now)
        device = devices.get(row.serial_number.upper())
        if device is None:
            errors["serial_number"] = _("no device has this serial number")
        station = stations.get(row.station.upper())
        if station is None:
            errors["station"] = _(
                "no test station has this name: an administrator adds it under Test stations"
            )
        elif not station.active:
            errors["station"] = _("this test station is inactive: its results are refused")
        if errors:
            outcomes.append(RowOutcome(row.result_id, ERROR, errors))
            continue
        if (station.name, row.result_id) in known:
            outcomes.append(RowOutcome(row.result_id, DUPLICATE))
            continue
        known.add((station.name, row.result_id))
        new.append(
            (
                device.pk,
                station.name,
                row.result_id,
                row.test_item,
                row.passed,
                row.value,
                row.low_limit,
                row.high_limit,
                row.log_url,
                row.tested_at,
                now,
                token.pk if token is not None else None,
                person.pk if person is not None else None,
            )
        )
        if not row.passed:
            failing.add((device, station))
        outcomes.append(RowOutcome(row.result_id, STORED))
    _store(new)
    opened = _open_for_repeated_failures(failing, token=token, person=person) if failing else []
    return ResultsRecorded(outcomes, opened)


# The columns a new result is written with, in the order `station_results_record` gives them.
COLUMNS = (
    "device_id",
    "station",
    "result_id",
    "test_item",
    "passed",
    "value",
    "low_limit",
    "high_limit",
    "log_url",
    "tested_at",
    "received_at",
    "token_id",
    "reported_by_id",
)


def _store(rows: list[tuple]) -> None:
    """Writes new results through the one bulk writer (COPY on PostgreSQL). Another request
    storing some of the same results meanwhile makes the copy collide: they are then written
    skipping those already there, each stored once all the same."""
    if not rows:
        return
    try:
        with transaction.atomic():
            rows_write(StationResult, COLUMNS, rows)
    except (IntegrityError, psycopg.IntegrityError):
        with transaction.atomic():
            StationResult.objects.bulk_create(
                [StationResult(**dict(zip(COLUMNS, row, strict=True))) for row in rows],
                ignore_conflicts=True,
            )


def _open_for_repeated_failures(failing: set, *, token, person) -> list[int]:
    """Opens an incident for each (device, station) of `failing` whose last runs at the
    station (as many as the station's fails to open), since the device's last incident, are
    all failures; the ids of those opened."""
    needed = {station.name: fails_to_open(station) for _device, station in failing}
    devices = {device.pk: device for device, _station in failing}
    busy = set(
        Incident.objects.filter(device__in=devices, stage__in=OPEN_STAGES).values_list(
            "device_id", flat=True
        )
    )
    since = dict(
        Incident.objects.filter(device__in=devices)
        .values("device")
        .annotate(last=Max(Greatest("opened_at", "closed_at")))
        .values_list("device", "last")
    )
    candidates = {(device.pk, station.name) for device, station in failing if device.pk not in busy}
    if not candidates:
        return []
    runs = (
        StationResult.objects.filter(
            device__in={pk for pk, _station in candidates},
            station__in={station for _pk, station in candidates},
        )
        .annotate(
            place=Window(
                RowNumber(),
                partition_by=[F("device"), F("station")],
                order_by=[F("tested_at").desc(), F("id").desc()],
            )
        )
        .filter(place__lte=max(needed.values()))
        .order_by("device", "station", "tested_at", "id")
    )
    latest: dict[tuple, list[StationResult]] = {}
    for run in runs:
        latest.setdefault((run.device_id, run.station), []).append(run)
    opened = []
    for (device_id, station), last in sorted(latest.items()):
        after = since.get(device_id)
        last = last[-needed[station] :]
        fresh = [run for run in last if after is None or run.tested_at > after]
        if (device_id, station) not in candidates or len(fresh) < needed[station]:
            continue
        if any(run.passed for run in fresh) or device_id in busy:
            continue
        incident = _open(devices[device_id], station, fresh, token=token, person=person)
        if incident is not None:
            opened.append(incident.pk)
            busy.add(device_id)
    return opened


def _open(device: Device, station: str, runs: list[StationResult], *, token, person):
    """The incident for `device`'s failing `runs` at `station` (None when the workflow refuses
    it: another request opened one meanwhile, a failure too old to report)."""
    now = timezone.now()
    items = list(dict.fromkeys(run.test_item for run in runs))
    links = list(dict.fromkeys(run.log_url for run in runs if run.log_url))
    who = token.name if token is not None else person.get_full_name()
    description = _(
        "Opened by the line: %(who)s reported %(count)s failures in a row at %(station)s "
        "(%(items)s)."
    ) % {"who": who, "count": len(runs), "station": station, "items": ", ".join(items)}
    if links:
        description += "\n" + "\n".join(links)
    try:
        with transaction.atomic():
            incident = incident_open(
                device=device,
                reporter=person,
                description=description,
                fail_station=station[:100],
                fail_item=", ".join(items)[:200],
                test_log_url=(links[0] if links else "")[:500],
                failed_at=min(runs[0].tested_at, now),
            )
            if token is not None:
                # The line reported it: its timeline and page name the token (in the same
                # transaction, so the incident is never seen without it).
                incident.reported_by_token = token
                Incident.objects.filter(pk=incident.pk).update(reported_by_token=token)
    except (WorkflowError, ValidationError):
        return None
    place = stage_work_location(incident)
    if place is not None and place.pk != device.location_id:
        # A place that takes no devices now leaves the device where it is.
        with contextlib.suppress(ValidationError):
            device_move(
                device=device,
                moved_by=person,
                location=place,
                reason=_("Incident #%(id)s opened by the line") % {"id": incident.pk},
            )
    return incident
