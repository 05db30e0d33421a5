"""Devices (where each is and who holds it) and the places they can be. Only devices of
projects the caller sees (`incidents.access`); a token sees no restricted project."""

from typing import Annotated

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from ninja import Query, Router

from incidents.api import pages, shapes
from incidents.api.auth import caller
from incidents.api.errors import not_found
from incidents.api.schemas import (
    DeviceDetailOut,
    DevicePage,
    ErrorOut,
    Id,
    Limit,
    LocationDetailOut,
    LocationPage,
    Text,
)
from incidents.choices import OPEN_STAGES, ApiScope
from incidents.models import Incident
from locations.choices import LocationKind
from locations.models import Device, Location
from locations.serials import matching_serial

router = Router(tags=["devices"])
locations = Router(tags=["devices"])
REFUSALS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut}


def visible(request: HttpRequest) -> QuerySet[Device]:
    """The devices the caller may read."""
    who = caller(request)
    who.require(ApiScope.DEVICES_READ)
    return Device.objects.visible_to(who.viewer)


def _device(row: Device, known: dict[int, list[str]]) -> dict:
    return {
        "id": row.pk,
        "serial_number": row.serial_number,
        "project": row.project,
        "hardware_version": row.hardware_version,
        "rom_version": row.rom_version,
        "config": row.config,
        "location": shapes.place(row.location, known),
        "holder": shapes.person(row.holder),
        "open_incident": row.open_incident,
        "registered_at": row.created_at,
    }


def _with_details(devices: QuerySet[Device]) -> QuerySet[Device]:
    open_incident = Incident.objects.filter(device=OuterRef("pk"), stage__in=OPEN_STAGES)
    return devices.select_related("location", "holder").annotate(
        open_incident=Subquery(open_incident.values("pk")[:1])
    )


@router.get("/", response={200: DevicePage, **REFUSALS}, summary="List devices")
def device_list(
    request: HttpRequest,
    serial_number: Text | None = None,
    project: Text | None = None,
    location: Annotated[Text | None, Query(description="The place's code.")] = None,
    holder: Annotated[Text | None, Query(description="The holder's employee number.")] = None,
    cursor: Text | None = None,
    limit: Limit = pages.DEFAULT_LIMIT,
):
    """Devices, the last registered first; `GET /api/v1/devices/?location=WH-B2-05`."""
    devices = visible(request)
    if serial_number:
        # Ignoring case, and by a serial the device had before a correction too.
        devices = devices.filter(matching_serial(serial_number))
    if project:
        devices = devices.filter(project=project)
    if location:
        devices = devices.filter(location__code=location)
    if holder:
        devices = devices.filter(holder__employee_number=holder)
    rows, following = pages.page(_with_details(devices), cursor, limit)
    known = shapes.paths(row.location for row in rows)
    return {"results": [_device(row, known) for row in rows], "next": following}


@router.get(
    "/{device_id}/",
    response={200: DeviceDetailOut, 404: ErrorOut, **REFUSALS},
    summary="One device",
)
def device_detail(request: HttpRequest, device_id: Id):
    """A device, where it is, who holds it and its incidents' ids."""
    found = _with_details(visible(request)).filter(pk=device_id).first()
    if found is None:
        raise not_found()
    incidents = found.incidents.order_by("-opened_at", "-id").values_list("pk", flat=True)
    return {**_device(found, shapes.paths([found.location])), "incidents": list(incidents)}


def _locations(request: HttpRequest) -> QuerySet[Location]:
    caller(request).require(ApiScope.DEVICES_READ, "locations.view_location")
    return Location.objects.select_related("parent")


def _location(row: Location, known: dict[int, list[str]]) -> dict:
    return {
        "id": row.pk,
        "code": row.code,
        "name": row.name,
        "kind": row.kind,
        "parent": row.parent.code if row.parent_id else None,
        "path": known.get(row.pk, [row.code]),
        "is_active": row.is_active,
    }


@locations.get("/", response={200: LocationPage, **REFUSALS}, summary="List locations")
def location_list(
    request: HttpRequest,
    kind: LocationKind | None = None,
    is_active: bool | None = None,
    parent: Annotated[Text | None, Query(description="The parent's code.")] = None,
    cursor: Text | None = None,
    limit: Limit = pages.DEFAULT_LIMIT,
):
    """Places devices can be, the last made first; `GET /api/v1/locations/?kind=shelf`."""
    places = _locations(request)
    if kind:
        places = places.filter(kind=kind)
    if is_active is not None:
        places = places.filter(is_active=is_active)
    if parent:
        places = places.filter(parent__code=parent)
    rows, following = pages.page(places, cursor, limit)
    known = shapes.paths(rows)
    return {"results": [_location(row, known) for row in rows], "next": following}


@locations.get(
    "/{location_id}/",
    response={200: LocationDetailOut, 404: ErrorOut, **REFUSALS},
    summary="One location",
)
def location_detail(request: HttpRequest, location_id: Id):
    """A place and how many devices (that the caller sees) are there."""
    found = _locations(request).filter(pk=location_id).first()
    if found is None:
        raise not_found()
    devices = Device.objects.filter(location=found).visible_to(caller(request).viewer)
    return {
        **_location(found, shapes.paths([found])),
        "device_count": devices.aggregate(count=Count("pk"))["count"],
    }
