"""Incidents, newest first, filtered as the incident list is, each with its timeline when asked
by id. Only incidents of projects the caller sees (`incidents.access`); a token sees no
restricted project."""

from datetime import datetime, time
from typing import Annotated

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from ninja import Query, Router

from config.kit.filters import FIRST_DAY, LAST_DAY
from incidents.api import pages, shapes
from incidents.api.auth import caller
from incidents.api.errors import bad_request, not_found
from incidents.api.schemas import (
    ErrorOut,
    Id,
    IncidentDetailOut,
    IncidentPage,
    Limit,
    SimilarPage,
    Text,
)
from incidents.choices import ApiScope, Stage, Step
from incidents.models import Incident
from incidents.selectors import incident_reported_by_line, incident_timeline, similar_incidents
from locations.models import Device
from locations.serials import matching_serial

router = Router(tags=["incidents"])
REFUSALS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut}


def visible(request: HttpRequest) -> QuerySet[Incident]:
    """The incidents the caller may read."""
    who = caller(request)
    who.require(ApiScope.INCIDENTS_READ)
    return Incident.objects.visible_to(who.viewer)


def _moment(name: str, text: str, *, end: bool) -> datetime:
    """A bound of `opened_from` / `opened_to`: a date alone is the whole day in the factory's
    time, as the incident list reads it, within the days the list accepts."""
    try:
        # A date first: Python reads "2025-03-04" as a moment too, that day's midnight.
        value = parse_date(text) or parse_datetime(text)
    except ValueError:
        value = None
    if value is None:
        raise bad_request(
            _("%(name)s: give a date (2025-03-04) or a date and time (ISO 8601).") % {"name": name}
        )
    day = value.date() if isinstance(value, datetime) else value
    if not FIRST_DAY <= day <= LAST_DAY:
        raise bad_request(
            _("%(name)s: dates run from %(first)s to %(last)s.")
            % {"name": name, "first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()}
        )
    if not isinstance(value, datetime):
        value = datetime.combine(value, time.max if end else time.min)
    return timezone.make_aware(value) if timezone.is_naive(value) else value


@router.get("/", response={200: IncidentPage, **REFUSALS}, summary="List incidents")
def incident_list(
    request: HttpRequest,
    stage: Annotated[list[Stage] | None, Query(description="One or more stages.")] = None,
    step: Annotated[list[Step] | None, Query()] = None,
    project: Text | None = None,
    serial_number: Text | None = None,
    problem_group: Annotated[Text | None, Query(description="The group's number.")] = None,
    fail_station: Text | None = None,
    fail_item: Text | None = None,
    opened_from: Annotated[
        Text | None,
        Query(description="A date (from its start, factory time) or an ISO 8601 moment."),
    ] = None,
    opened_to: Annotated[
        Text | None, Query(description="A date (to the day's end) or a moment.")
    ] = None,
    cursor: Text | None = None,
    limit: Limit = pages.DEFAULT_LIMIT,
):
    """Incidents newest first; `GET /api/v1/incidents/?stage=xray&stage=ee_analysis`."""
    incidents = visible(request)
    if stage:
        incidents = incidents.filter(stage__in=stage)
    if step:
        incidents = incidents.filter(step__in=step)
    if project:
        incidents = incidents.filter(device__project=project)
    if serial_number:
        # Ignoring case, and by a serial the device had before a correction too.
        named = Device.objects.filter(matching_serial(serial_number)).values("pk")
        incidents = incidents.filter(device_id__in=named)
    if problem_group:
        incidents = incidents.filter(problem_group__number=problem_group)
    if fail_station:
        incidents = incidents.filter(fail_station=fail_station)
    if fail_item:
        incidents = incidents.filter(fail_item=fail_item)
    if opened_from:
        incidents = incidents.filter(opened_at__gte=_moment("opened_from", opened_from, end=False))
    if opened_to:
        incidents = incidents.filter(opened_at__lte=_moment("opened_to", opened_to, end=True))
    rows, following = pages.page(
        incidents.select_related("device", "assignee", "problem_group"), cursor, limit
    )
    return {"results": [shapes.incident(row) for row in rows], "next": following}


@router.get(
    "/{incident_id}/",
    response={200: IncidentDetailOut, 404: ErrorOut, **REFUSALS},
    summary="One incident with its timeline",
)
def incident_detail(request: HttpRequest, incident_id: Id):
    """An incident, its device (where it is, who holds it) and its timeline, newest first."""
    found = (
        visible(request)
        .select_related(
            "device__location",
            "device__holder",
            "assignee",
            "reporter",
            "reported_by_token",
            "problem_group",
        )
        .filter(pk=incident_id)
        .first()
    )
    if found is None:
        raise not_found()
    device = found.device
    known = shapes.paths([device.location])
    return {
        **shapes.incident(found),
        "description": found.description,
        "reporter": shapes.person(found.reporter),
        "reported_by_line": incident_reported_by_line(found) or None,
        "stage_entered_at": found.stage_entered_at if found.stage_entered_known else None,
        "device": {
            "id": device.pk,
            "serial_number": device.serial_number,
            "location": shapes.place(device.location, known),
            "holder": shapes.person(device.holder),
        },
        "timeline": [
            {
                "at": event.created_at,
                "action": event.action,
                "by": shapes.person(event.actor),
                "by_line": event.by_line or None,
                "from_stage": event.from_stage,
                "to_stage": event.to_stage,
                "from_step": event.from_step,
                "to_step": event.to_step,
                "assignee": shapes.person(event.assignee),
                "comment": event.comment,
                "verdict": event.verdict,
                "note": event.note,
            }
            for event in incident_timeline(found)
        ],
    }


@router.get(
    "/{incident_id}/similar/",
    response={200: SimilarPage, 404: ErrorOut, **REFUSALS},
    summary="Seen before: past incidents like this one",
)
def incident_similar(request: HttpRequest, incident_id: Id):
    """The past incidents most like this one, best first, as its page lists them ("Seen
    before"): the same fail item at the same station, then at other stations, devices of the
    same project and hardware version, and close words in descriptions and findings; each with
    how it ended and the findings that resolved it. Only incidents the caller may read."""
    found = visible(request).select_related("device").filter(pk=incident_id).first()
    if found is None:
        raise not_found()
    rows = similar_incidents(found, caller(request).viewer)
    return {
        "results": [
            {
                "id": row.incident.pk,
                "serial_number": row.incident.device.serial_number,
                "stage": row.incident.stage,
                "outcome": row.outcome,
                "failure": shapes.failure(row.incident),
                "resolution": row.resolution,
                "problem_group": row.incident.problem_group_id,
                "score": row.score,
            }
            for row in rows
        ]
    }
