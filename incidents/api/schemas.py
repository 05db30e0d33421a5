"""What the API answers, as documented in its OpenAPI schema, and the values its filters take."""

from datetime import UTC, datetime
from typing import Annotated, Literal

from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import AfterValidator, Field

from incidents.api import examples as ex
from incidents.api.pages import MAX_LIMIT

# Dates a filter or a result may name: outside these no row exists, and far beyond them Python's
# own dates overflow once moved to UTC.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _within_bounds(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(_("needs a time zone (e.g. +08:00 or Z)"))
    if not EARLIEST <= value <= LATEST:
        raise ValueError(_("must be between 2000 and 2100"))
    return value


When = Annotated[datetime, AfterValidator(_within_bounds)]
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Text = Annotated[str, Field(max_length=200)]
Limit = Annotated[
    int, Field(ge=1, le=MAX_LIMIT, description=f"Rows per page (at most {MAX_LIMIT}).")
]


class Person(Schema):
    employee_number: str
    name: str


class Place(Schema):
    code: str
    name: str
    path: list[str] = Field(description="From the building down to the place itself.")


class Failure(Schema):
    station: str
    item: str
    log_urls: list[str]
    failed_at: datetime | None


class IncidentOut(Schema):
    id: int
    stage: str
    step: str
    serial_number: str
    project: str
    failure: Failure
    problem_group: str | None = Field(description="The group's number, e.g. BUG-2025-0012.")
    assignee: Person | None
    opened_at: datetime
    closed_at: datetime | None


class TimelineEntry(Schema):
    at: datetime
    action: str
    by: Person | None
    by_line: str | None = Field(
        description="The line's token that did it (an incident the line opened by itself), "
        "when no person did."
    )
    from_stage: str
    to_stage: str
    from_step: str
    to_step: str
    assignee: Person | None
    comment: str
    verdict: str
    note: str


class DeviceBrief(Schema):
    id: int
    serial_number: str
    location: Place | None
    holder: Person | None


class IncidentDetailOut(IncidentOut):
    model_config = ex.examples(ex.INCIDENT_DETAIL)

    description: str
    reporter: Person | None
    reported_by_line: str | None = Field(
        description="The name of the token the line's station reported with, when the line "
        "opened it by itself (then `reporter` is null)."
    )
    stage_entered_at: datetime | None = Field(
        description="When the incident entered its current stage; null when nobody knows "
        "(imported from the legacy workbook, which does not say, and not moved since)."
    )
    device: DeviceBrief
    timeline: list[TimelineEntry] = Field(description="Newest first.")


class IncidentPage(Schema):
    model_config = ex.examples(ex.INCIDENT_PAGE)

    results: list[IncidentOut]
    next: str | None = Field(description="The cursor of the next page; null on the last.")


class DeviceOut(Schema):
    id: int
    serial_number: str
    project: str
    hardware_version: str
    rom_version: str
    config: str
    location: Place | None
    holder: Person | None
    open_incident: int | None = Field(description="The id of its open incident, if any.")
    registered_at: datetime


class DeviceDetailOut(DeviceOut):
    model_config = ex.examples(ex.DEVICE_DETAIL)

    incidents: list[int] = Field(description="Its incidents' ids, newest first.")


class DevicePage(Schema):
    model_config = ex.examples(ex.DEVICE_PAGE)

    results: list[DeviceOut]
    next: str | None


class LocationOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    parent: str | None = Field(description="The parent's code.")
    path: list[str]
    is_active: bool


class LocationDetailOut(LocationOut):
    model_config = ex.examples(ex.LOCATION_DETAIL)

    device_count: int


class LocationPage(Schema):
    model_config = ex.examples(ex.LOCATION_PAGE)

    results: list[LocationOut]
    next: str | None


class ProblemGroupOut(Schema):
    id: int
    number: str
    title: str
    status: str
    owner: Person | None
    created_at: datetime
    incident_count: int
    open_count: int


class ProblemGroupDetailOut(ProblemGroupOut):
    model_config = ex.examples(ex.GROUP_DETAIL)

    description: str
    incidents: list[int] = Field(description="Its incidents' ids, newest first.")


class ProblemGroupPage(Schema):
    model_config = ex.examples(ex.GROUP_PAGE)

    results: list[ProblemGroupOut]
    next: str | None


class SimilarOut(Schema):
    id: int
    serial_number: str
    stage: str
    outcome: Literal["returned", "scrapped", "no_fault_found", "cancelled", "open"] = Field(
        description="How it ended: returned to the line after analysis, scrapped, returned "
        "with no fault found (straight from FAE retest), cancelled, or still open."
    )
    failure: Failure
    resolution: str = Field(
        description="The findings of the stage that resolved it (the latest result that "
        "resolved the fault, else the one whose verdict decided); empty when none."
    )
    problem_group: int | None = Field(description="The id of its problem group.")
    score: float = Field(description="How alike; the list is best first.")


class SimilarPage(Schema):
    model_config = ex.examples(ex.SIMILAR_PAGE)

    results: list[SimilarOut] = Field(description="Best first, at most 10.")


class ErrorBody(Schema):
    code: str
    message: str


class ErrorOut(Schema):
    model_config = ex.examples(ex.ERROR)

    error: ErrorBody
