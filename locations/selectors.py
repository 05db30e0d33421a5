"""Reads about where devices are, who holds them, and where they have been."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection
from django.db.models import Q

from locations import reasons
from locations.models import Device, Location


@dataclass(frozen=True)
class TrailEntry:
    """One change of place or holder, in words rather than as a raw history diff."""

    at: datetime
    by: AbstractBaseUser | None
    reason: str
    from_location: Location | None
    to_location: Location | None
    from_holder: AbstractBaseUser | None
    to_holder: AbstractBaseUser | None
    history_id: int
    registered: bool = False

    @property
    def reason_text(self) -> str:
        """Why, in the reader's language (a code put in words, a person's words as typed)."""
        return reasons.text(self.reason)

    @property
    def moved(self) -> bool:
        return self.from_location != self.to_location

    @property
    def handed_over(self) -> bool:
        return self.from_holder != self.to_holder


def device_trail(device: Device) -> list[TrailEntry]:
    """Every change of the device's location or holder, newest first, in three queries
    whatever the length of the trail."""
    records = list(
        device.history.select_related("history_user")
        .order_by("history_date", "history_id")
        .only(
            "history_id",
            "history_date",
            "history_change_reason",
            "history_user",
            "location_id",
            "holder_id",
        )
    )
    location_ids = {r.location_id for r in records} - {None}
    holder_ids = {r.holder_id for r in records} - {None}
    locations = Location.objects.in_bulk(location_ids)
    holders = get_user_model().objects.in_bulk(holder_ids)
    entries, previous = [], None
    for record in records:
        before = (previous.location_id, previous.holder_id) if previous else (None, None)
        if previous is None or (record.location_id, record.holder_id) != before:
            entries.append(
                TrailEntry(
                    at=record.history_date,
                    by=record.history_user,
                    reason=record.history_change_reason or "",
                    from_location=locations.get(before[0]),
                    to_location=locations.get(record.location_id),
                    from_holder=holders.get(before[1]),
                    to_holder=holders.get(record.holder_id),
                    history_id=record.history_id,
                    registered=previous is None,
                )
            )
        previous = record
    entries.reverse()
    return entries


def trail_step(device: Device, history_id: int):
    """One entry of `device`'s trail and the entry before it (None for the first), places and
    holders read with them; None when the trail has no such entry."""
    record = (
        device.history.select_related("history_user", "location", "holder")
        .filter(history_id=history_id)
        .first()
    )
    if record is None:
        return None
    at, pk = record.history_date, record.history_id
    previous = (
        device.history.select_related("location", "holder")
        .filter(Q(history_date__lt=at) | Q(history_date=at, history_id__lt=pk))
        .order_by("-history_date", "-history_id")
        .first()
    )
    return record, previous


def recent_reasons(person=None, limit: int = 4) -> list[str]:
    """The reasons to pick from at the scan station: the standard ones in the reader's language,
    then the latest `limit` reasons `person` typed for their own moves (their words; not those
    the system wrote: imports, hand-overs, undos, nor other people's, which may be in another
    language)."""
    offered = reasons.standard_words()
    given = []
    if person is not None and person.pk is not None:
        for reason in (
            Device.history.filter(history_user_id=person.pk)
            .exclude(history_change_reason__isnull=True)
            .exclude(history_change_reason="")
            .order_by("-history_date")
            .values_list("history_change_reason", flat=True)[:200]
        ):
            if reason not in given and reason not in offered and not reasons.is_code(reason):
                given.append(reason)
            if len(given) == limit:
                break
    return offered + given


# Each step asks the index on (project, hardware version) for the first pair after the last one
# found: one probe per pair the factory has, however many devices share it.
_KINDS_SQL = """
WITH RECURSIVE kind(project, hardware_version) AS (
    SELECT project, hardware_version FROM (
        SELECT project, hardware_version FROM {table}
        ORDER BY project, hardware_version LIMIT 1
    ) AS first_kind
    UNION ALL
    SELECT
        (SELECT d.project FROM {table} d
         WHERE (d.project, d.hardware_version) > (kind.project, kind.hardware_version)
         ORDER BY d.project, d.hardware_version LIMIT 1),
        (SELECT d.hardware_version FROM {table} d
         WHERE (d.project, d.hardware_version) > (kind.project, kind.hardware_version)
         ORDER BY d.project, d.hardware_version LIMIT 1)
    FROM kind WHERE kind.project IS NOT NULL
)
SELECT project, hardware_version FROM kind WHERE project IS NOT NULL
"""


def device_kinds() -> list[tuple[str, str]]:
    """The (project, hardware version) pairs of the devices, in the database's order: what a
    distinct over every device would give, read from the `device_kinds` index."""
    table = connection.ops.quote_name(Device._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(_KINDS_SQL.format(table=table))
        return cursor.fetchall()
