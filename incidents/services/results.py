"""What test stations report: each result stored once (a station's result id is its key, so a
batch sent again, whole or in part, in any order, adds nothing), a refused row refused alone."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents import access
from incidents.models import ApiToken, StationResult
from locations.models import Device

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


def _refusals(row: ResultRow, now: datetime) -> dict[str, str]:
    errors = {}
    if row.tested_at > now + CLOCK_SKEW:
        errors["tested_at"] = _("is in the future (the station's clock?)")
    if row.low_limit is not None and row.high_limit is not None and row.low_limit > row.high_limit:
        errors["low_limit"] = _("is above the high limit")
    return errors


def _devices(serials: set[str], person) -> dict[str, Device]:
    """The devices named, by their serial number in capitals (serial numbers are one ignoring
    case); a person finds only those of projects they see, a station every device it tests."""
    devices = Device.objects.annotate(key=Upper("serial_number")).filter(
        key__in=[serial.upper() for serial in serials]
    )
    if person is not None:
        devices = access.restrict(devices, person)
    return {device.key: device for device in devices}


def station_results_record(
    *, rows: list[ResultRow], token: ApiToken | None = None, person=None
) -> list[RowOutcome]:
    """Stores the rows that hold, each once, and says for each row whether it was stored, was
    there already (the same station and result id) or was refused, and why."""
    now = timezone.now()
    devices = _devices({row.serial_number for row in rows}, person)
    known = set(
        StationResult.objects.filter(
            station__in={row.station for row in rows},
            result_id__in={row.result_id for row in rows},
        ).values_list("station", "result_id")
    )
    outcomes, new = [], []
    for row in rows:
        errors = _refusals(row, now)
        device = devices.get(row.serial_number.upper())
        if device is None:
            errors["serial_number"] = _("no device has this serial number")
        if errors:
            outcomes.append(RowOutcome(row.result_id, ERROR, errors))
            continue
        if (row.station, row.result_id) in known:
            outcomes.append(RowOutcome(row.result_id, DUPLICATE))
            continue
        known.add((row.station, row.result_id))
        new.append(
            StationResult(
                device=device,
                station=row.station,
                result_id=row.result_id,
                test_item=row.test_item,
                passed=row.passed,
                value=row.value,
                low_limit=row.low_limit,
                high_limit=row.high_limit,
                log_url=row.log_url,
                tested_at=row.tested_at,
                received_at=now,
                token=token,
                reported_by=person,
            )
        )
        outcomes.append(RowOutcome(row.result_id, STORED))
    with transaction.atomic():
        # Another request storing the same result meanwhile: it is stored once all the same.
        StationResult.objects.bulk_create(new, ignore_conflicts=True)
    return outcomes
