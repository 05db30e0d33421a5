"""Problem groups (incidents that share a root cause), with their incidents counted and listed
as far as the caller sees them (`incidents.access`)."""

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from ninja import Router

from incidents.api import pages, shapes
from incidents.api.auth import caller
from incidents.api.errors import not_found
from incidents.api.schemas import (
    ErrorOut,
    Id,
    Limit,
    ProblemGroupDetailOut,
    ProblemGroupPage,
    Text,
)
from incidents.choices import OPEN_STAGES, ApiScope, ProblemGroupStatus
from incidents.models import Incident, ProblemGroup

router = Router(tags=["problem groups"])
REFUSALS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut}


def _counted(incidents: QuerySet[Incident]):
    per_group = (
        incidents.filter(problem_group=OuterRef("pk"))
        .order_by()
        .values("problem_group")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(per_group, output_field=IntegerField()), 0)


def _visible(request: HttpRequest) -> tuple[QuerySet[ProblemGroup], QuerySet[Incident]]:
    """The groups the caller may read, counted, and the incidents they may read."""
    who = caller(request)
    who.require(ApiScope.INCIDENTS_READ, "incidents.view_problemgroup")
    incidents = Incident.objects.visible_to(who.viewer)
    groups = ProblemGroup.objects.select_related("owner").annotate(
        incident_count=_counted(incidents),
        open_count=_counted(incidents.filter(stage__in=OPEN_STAGES)),
    )
    return groups, incidents


def _group(row: ProblemGroup) -> dict:
    return {
        "id": row.pk,
        "number": row.number,
        "title": row.title,
        "status": row.status,
        "owner": shapes.person(row.owner),
        "created_at": row.created_at,
        "incident_count": row.incident_count,
        "open_count": row.open_count,
    }


@router.get("/", response={200: ProblemGroupPage, **REFUSALS}, summary="List problem groups")
def problem_group_list(
    request: HttpRequest,
    status: ProblemGroupStatus | None = None,
    cursor: Text | None = None,
    limit: Limit = pages.DEFAULT_LIMIT,
):
    """Problem groups, the last made first; `GET /api/v1/problem-groups/?status=open`."""
    groups, _incidents = _visible(request)
    if status:
        groups = groups.filter(status=status)
    rows, following = pages.page(groups, cursor, limit)
    return {"results": [_group(row) for row in rows], "next": following}


@router.get(
    "/{group_id}/",
    response={200: ProblemGroupDetailOut, 404: ErrorOut, **REFUSALS},
    summary="One problem group",
)
def problem_group_detail(request: HttpRequest, group_id: Id):
    """A problem group and the ids of its incidents the caller sees, newest first."""
    groups, incidents = _visible(request)
    found = groups.filter(pk=group_id).first()
    if found is None:
        raise not_found()
    ids = []
    # Someone who sees groups but not incidents (deleting unused records) gets their counts only.
    if caller(request).may(ApiScope.INCIDENTS_READ):
        ids = incidents.filter(problem_group=found).order_by("-opened_at", "-id")
        ids = list(ids.values_list("pk", flat=True))
    return {**_group(found), "description": found.description, "incidents": ids}
