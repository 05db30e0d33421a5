"""Reads for dashboards and lists."""

from django.contrib.auth.models import Group, Permission
from django.db.models import Count, Max, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from incidents import access, contributions, rules
from incidents.capabilities import (
    CAPABILITIES,
    CapabilityCode,
    held,
    holdings,
    outside_capabilities,
    permission_labels,
)
from incidents.choices import NEXT_STAGE, OPEN_STAGES, Stage, Step, Verdict, WorkflowAction
from incidents.models import (
    AnalysisResult,
    Employee,
    Incident,
    IncidentEvent,
    Notification,
    OperationRecord,
    StageOwnership,
)
from locations.choices import IMPORT_REASON
from locations.models import Device, Location


# --- one incident -----------------------------------------------------------------------------
def incident_timeline(incident: Incident) -> list[IncidentEvent]:
    """Every event of the incident, newest first, with the people already loaded."""
    return list(incident.events.select_related("actor", "assignee").order_by("-created_at", "-id"))


def incident_records_by_stage(incident: Incident) -> list[dict]:
    """Operation records (with attachments), analysis results and what was marked as evidence
    in the chat, grouped by stage, the stage worked on most recently first, newest entries first
    inside each."""
    records = (
        incident.operation_records.select_related("created_by")
        .prefetch_related("attachments")
        .order_by("-created_at", "-id")
    )
    results = incident.analysis_results.select_related("created_by", "operation_record").order_by(
        "-created_at", "-id"
    )
    groups: dict[str, dict] = {}
    kinds = {OperationRecord: "records", AnalysisResult: "results"}
    for item in [*records, *results, *contributions.incident_evidence(incident.pk)]:
        at = getattr(item, "created_at", None) or item.marked_at
        group = groups.setdefault(
            item.stage,
            {
                "stage": Stage(item.stage),
                "records": [],
                "results": [],
                "evidence": [],
                "latest": at,
            },
        )
        group[kinds.get(type(item), "evidence")].append(item)
        group["latest"] = max(group["latest"], at)
    for group in groups.values():
        group["is_current"] = group["stage"] == incident.stage
        group["is_locked"] = not group["is_current"] or not incident.is_open
    return sorted(groups.values(), key=lambda group: group["latest"], reverse=True)


# Where each stage sits in the workflow picture (x, y in a 760 by 250 drawing).
_GRAPH_POSITIONS = {
    Stage.REPORTED: (70, 40),
    Stage.FAE_RETEST: (230, 40),
    Stage.RETURNED: (690, 40),
    Stage.XRAY: (230, 130),
    Stage.EE_ANALYSIS: (400, 130),
    Stage.FINAL_RETEST: (560, 130),
    Stage.ME_ANALYSIS: (400, 215),
    Stage.SCRAPPED: (690, 215),
    Stage.CANCELLED: (70, 215),
}


_BOX_HALF_WIDTH, _BOX_HALF_HEIGHT = 62, 16


def _to_box_edge(x1: float, y1: float, x2: float, y2: float) -> tuple[float, float]:
    """Where the line from the centre of box 1 towards point 2 leaves box 1."""
    dx, dy = x2 - x1, y2 - y1
    scale = min(
        _BOX_HALF_WIDTH / abs(dx) if dx else float("inf"),
        _BOX_HALF_HEIGHT / abs(dy) if dy else float("inf"),
    )
    return round(x1 + dx * scale, 1), round(y1 + dy * scale, 1)


def workflow_graph(incident: Incident, timeline: list[IncidentEvent]) -> dict:
    """The stage graph of DESIGN.md with the current stage and the path taken marked."""
    moves = [
        (event.from_stage, event.to_stage)
        for event in timeline
        if event.action in (WorkflowAction.APPROVE, WorkflowAction.CANCEL)
    ]
    visited = {incident.stage} | {stage for move in moves for stage in move}
    taken = set(moves)
    nodes = [
        {
            "stage": stage,
            "label": stage.label,
            "x": x,
            "y": y,
            "state": "current"
            if stage == incident.stage
            else ("visited" if stage in visited else "other"),
        }
        for stage, (x, y) in _GRAPH_POSITIONS.items()
    ]
    edges = []
    for (source, verdict), target in NEXT_STAGE.items():
        (x1, y1), (x2, y2) = _GRAPH_POSITIONS[source], _GRAPH_POSITIONS[target]
        (sx, sy), (tx, ty) = _to_box_edge(x1, y1, x2, y2), _to_box_edge(x2, y2, x1, y1)
        edges.append(
            {
                "x1": sx,
                "y1": sy,
                "x2": tx,
                "y2": ty,
                "label": Verdict(verdict).label if verdict else "",
                "lx": (x1 + x2) / 2,
                "ly": (y1 + y2) / 2 - 6,
                "taken": (source, target) in taken,
            }
        )
    return {"nodes": nodes, "edges": edges}


def blocked_actions(incident: Incident, user: Employee, facts=None) -> list[dict]:
    """The workflow buttons a person expects on this incident now but cannot use, and why, so
    the page shows them disabled with the reason instead of simply showing no button: the
    assignee's Submit (no operation record or no verdict yet in this round), a reviewer's
    Approve and Send back (their own work, no verdict, a stage without owner…). `facts`: the
    page's `rules.Facts` for `user`."""
    if not incident.is_open:
        return []
    facts = facts or rules.Facts(user)
    if incident.step == Step.ASSIGNED and rules.is_assignee(incident, user):
        expected = (WorkflowAction.SUBMIT,)
    elif incident.step == Step.SUBMITTED and (
        rules.can_review(incident, user, facts) or rules.stage_owner(incident.stage, facts) is None
    ):
        expected = (WorkflowAction.APPROVE, WorkflowAction.REJECT)
    else:
        return []
    blocked = []
    for action in expected:
        reason = rules.refusal(incident, action, user, facts)
        if reason:
            blocked.append({"action": action, "label": _BUTTONS[action], "reason": reason})
    return blocked


# The buttons' words (the actions' own labels say what happened: "Approved", "Sent back").
_BUTTONS = {
    WorkflowAction.ASSIGN: gettext_lazy("Assign"),
    WorkflowAction.SUBMIT: gettext_lazy("Submit for review"),
    WorkflowAction.APPROVE: gettext_lazy("Approve"),
    WorkflowAction.REJECT: gettext_lazy("Send back"),
}
# The step in which each row action of the incident list means anything at all.
_ROW_ACTION_STEPS = {
    WorkflowAction.ASSIGN: (Step.UNASSIGNED, Step.ASSIGNED),
    WorkflowAction.APPROVE: (Step.SUBMITTED,),
}


def row_action_refusals(
    incidents: list[Incident], user: Employee, actions: list[WorkflowAction]
) -> dict[int, dict[WorkflowAction, str]]:
    """For the row menus of a page of incidents: the actions that cannot succeed on a row. An
    action that means nothing in the row's step (approving what nobody submitted) maps to ""
    and is left out of the menu; one the person cannot take there maps to the reason, so the
    menu shows it disabled with why. Rows where every action would work are not listed.

    What the rules read (who owns each stage, what the person supervises, the rows' verdicts)
    is read once for the page, not once a row."""
    facts = rules.Facts(user, incidents)
    refusals: dict[int, dict[WorkflowAction, str]] = {}
    for incident in incidents:
        for action in actions:
            if not incident.is_open or incident.step not in _ROW_ACTION_STEPS[action]:
                reason = ""
            else:
                reason = rules.refusal(incident, action, user, facts)
                if reason is None:
                    continue
            refusals.setdefault(incident.pk, {})[action] = reason
    return refusals


# --- work queues ------------------------------------------------------------------------------
def work_queue(user: Employee, queue: str) -> QuerySet[Incident]:
    """Incidents in one of a person's queues: `mine` (assigned to me, in progress), `review`
    (submitted in a stage I supervise, by someone else), `unassigned` (waiting in a stage my
    department owns); only those of projects the person sees."""
    incidents = access.restrict(Incident.objects.filter(stage__in=OPEN_STAGES), user)
    if queue == "mine":
        return incidents.filter(assignee=user, step=Step.ASSIGNED)
    # The person's stages are read first, as a list: inside the incidents' query a subquery over
    # departments, supervisors and members made PostgreSQL scan every open incident.
    if queue == "review":
        stages = StageOwnership.objects.filter(department__supervisors=user)
        supervised = list(stages.values_list("stage", flat=True))
        # Not one's own work: nobody approves that themselves, so it would be a dead end here.
        return incidents.filter(step=Step.SUBMITTED, stage__in=supervised).exclude(assignee=user)
    if queue == "unassigned":
        stages = StageOwnership.objects.filter(
            Q(department__supervisors=user) | Q(department__employees=user)
        )
        owned = list(stages.values_list("stage", flat=True).distinct())
        return incidents.filter(step=Step.UNASSIGNED, stage__in=owned)
    return incidents.none()


def work_queue_counts(user: Employee) -> dict[str, int]:
    return {queue: work_queue(user, queue).count() for queue in WORK_QUEUES}


WORK_QUEUES = ("mine", "review", "unassigned")


def work_queue_next(user: Employee, queue: str, current: Incident) -> Incident | None:
    """The incident to look at after `current` in one of a person's queues, in the list's
    order (newest opened first): the next one down, else the first (None when it is the only
    one, or the queue is empty)."""
    others = (
        work_queue(user, queue)
        .exclude(pk=current.pk)
        .select_related("device")
        .order_by("-opened_at", "-id")
    )
    below = Q(opened_at__lt=current.opened_at) | Q(opened_at=current.opened_at, id__lt=current.pk)
    return others.filter(below).first() or others.first()


def unread_notification_count(user: Employee) -> int:
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    return access.restrict(unread, user).count()


# --- roles in words ----------------------------------------------------------------------------
def permissions_named(names) -> list[Permission]:
    """The permissions named `app_label.codename`."""
    query = Q()
    for name in set(names):
        app_label, codename = name.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.filter(query)) if query else []


def _names(permissions) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in permissions}


def role_permission_names(role: Group) -> set[str]:
    """The role's permissions as `app_label.codename`."""
    return _names(role.permissions.select_related("content_type"))


def manages_people_with(person: Employee, roles: dict[int, set[str]]) -> bool:
    """Whether `person` would still manage people (the capability) if their roles were those of
    `roles` ({role id: its permissions}); a superuser always does."""
    if person.is_superuser:
        return True
    permissions = set().union(*roles.values()) | _names(
        person.user_permissions.select_related("content_type")
    )
    return CapabilityCode.MANAGE_PEOPLE in held(permissions)


def role_permissions_of(person: Employee) -> dict[int, set[str]]:
    """{role id: its permissions} of each of the person's roles."""
    return {role.pk: role_permission_names(role) for role in person.groups.all()}


def with_members(roles: QuerySet[Group]) -> QuerySet[Group]:
    """The roles with their number of active members (`member_count`) and their permissions."""
    return roles.annotate(
        member_count=Count("user", filter=Q(user__is_active=True), distinct=True)
    ).prefetch_related(
        Prefetch("permissions", queryset=Permission.objects.select_related("content_type"))
    )


def role_holdings(role: Group) -> list:
    """How much of each capability the role holds (its permissions prefetched by
    `with_members`)."""
    return holdings(_names(role.permissions.all()))


def role_matrix(roles) -> dict:
    """Roles by capabilities: per capability a row of how much each role holds (with the
    permissions a role holding it partly lacks, in words), and per role the permissions it
    holds that no capability carries."""
    roles = list(roles)
    names = {role.pk: _names(role.permissions.all()) for role in roles}
    per_role = [holdings(names[role.pk]) for role in roles]
    rows = [
        {
            "capability": capability,
            "cells": [
                {
                    "role": role,
                    "holding": held[index].holding,
                    "missing": permission_labels(held[index].missing),
                }
                for role, held in zip(roles, per_role, strict=True)
            ],
        }
        for index, capability in enumerate(CAPABILITIES)
    ]
    others = [permission_labels(outside_capabilities(names[role.pk])) for role in roles]
    return {"roles": roles, "rows": rows, "others": others}


# --- where the device is, for the workflow ---------------------------------------------------
def device_open_incident(device: Device) -> Incident | None:
    return device.incidents.filter(stage__in=OPEN_STAGES).first()


def stage_work_location(incident: Incident) -> Location | None:
    """Where the incident's current stage does its work, if the stage declares it."""
    ownership = (
        StageOwnership.objects.select_related("work_location").filter(stage=incident.stage).first()
    )
    return ownership.work_location if ownership else None


# Timeline entries whose comment is a note someone left for whoever acts next.
_NOTE_ACTIONS = (
    WorkflowAction.ASSIGN,
    WorkflowAction.SUBMIT,
    WorkflowAction.APPROVE,
    WorkflowAction.REJECT,
    WorkflowAction.CANCEL,
)


def incident_summary(incident: Incident, timeline: list[IncidentEvent]) -> dict:
    """What the top of an incident's page answers besides the incident's own fields: the
    latest verdict given (in whatever stage) and the latest note a person left (an assignment
    note, a send-back reason…), read from the timeline the page already has."""
    verdict = (
        incident.analysis_results.exclude(verdict="")
        .select_related("created_by")
        .order_by("-created_at", "-id")
        .first()
    )
    note = next((e for e in timeline if e.comment and e.action in _NOTE_ACTIONS), None)
    return {"verdict": verdict, "note": note}


def custody_warning(incident: Incident) -> str | None:
    """Why the device is not where its stage needs it, or None when all is well."""
    if not incident.is_open:
        return None
    needed = stage_work_location(incident)
    device = incident.device
    if needed is None or device.location_id == needed.pk:
        return None
    return _(
        "%(stage)s works at %(needed)s, but device %(serial)s is at %(where)s. "
        "Scan it into %(needed_code)s when it gets there."
    ) % {
        "stage": incident.get_stage_display(),
        "needed": needed,
        "needed_code": needed.code,
        "serial": device.serial_number,
        "where": device.location or _("an unknown place"),
    }


def scan_station_device_status(device: Device) -> dict[str, str]:
    """What the scan station shows of the device's workflow: its open incident, and whether the
    stage it waits for works right here."""
    incident = device_open_incident(device)
    if incident is None:
        return {"incident": "", "gate": ""}
    status = {"incident": f"#{incident.pk} · {incident.get_stage_display()}", "gate": ""}
    needed = stage_work_location(incident)
    if needed is None:
        return status
    context = {"stage": incident.get_stage_display(), "id": incident.pk, "code": needed.code}
    if device.location_id == needed.pk:
        status["gate"] = _("%(stage)s is waiting for this device here (incident #%(id)s).") % (
            context
        )
    else:
        status["gate"] = _("%(stage)s needs this device at %(code)s.") % context
    return status


# --- what the assign and new-incident forms show --------------------------------------------------
def with_open_workload(people: QuerySet[Employee]) -> QuerySet[Employee]:
    """`people`, each with `open_workload`: the open incidents assigned to them now."""
    return people.annotate(
        open_workload=Count(
            "assigned_incidents",
            filter=Q(assigned_incidents__stage__in=OPEN_STAGES),
            distinct=True,
        )
    )


def home_location(person: Employee) -> Location | None:
    """Where a device this person reports most likely is: the work location of the first stage
    (in workflow order) their department owns that declares one. People and departments have no
    location of their own, so a department owning no located stage gives none."""
    if person.department_id is None:
        return None
    located = {
        ownership.stage: ownership.work_location
        for ownership in StageOwnership.objects.select_related("work_location").filter(
            department_id=person.department_id,
            work_location__isnull=False,
            work_location__is_active=True,
        )
    }
    return next((located[stage] for stage in OPEN_STAGES if stage in located), None)


# --- people moving between departments ------------------------------------------------------------
def open_assignments(person: Employee) -> QuerySet[Incident]:
    """The open incidents whose current stage is assigned to `person`, oldest first."""
    return (
        Incident.objects.filter(assignee=person, stage__in=OPEN_STAGES)
        .select_related("device")
        .order_by("opened_at", "id")
    )


def stages_takeable(person: Employee, department_id: int | None) -> set[str]:
    """The stages `person` could be assigned if they belonged to department `department_id`:
    those it owns and those of the departments they supervise."""
    ownerships = StageOwnership.objects.filter(department__supervisors=person)
    if department_id is not None:
        ownerships = StageOwnership.objects.filter(
            Q(department_id=department_id) | Q(department__supervisors=person)
        )
    return set(ownerships.values_list("stage", flat=True))


def assignments_left_behind(person: Employee, department_id: int | None) -> list[Incident]:
    """The open assignments of `person` that moving them to department `department_id` (None:
    to no department) would leave behind: those of stages they could no longer take, and those
    of confidential projects they would no longer see."""
    takeable = stages_takeable(person, department_id)
    would_see = access.sees_project_in(person, department_id)
    return [
        incident
        for incident in open_assignments(person)
        if incident.stage not in takeable or not would_see(incident.device.project)
    ]


def hand_over_candidates(person: Employee) -> QuerySet[Employee]:
    """Who may take over `person`'s work when they leave their department: its other active
    members and its supervisors."""
    if person.department_id is None:
        return Employee.objects.none()
    department_id = person.department_id
    return (
        Employee.objects.filter(is_active=True)
        .filter(Q(department_id=department_id) | Q(supervised_departments=department_id))
        .exclude(pk=person.pk)
        .distinct()
        .order_by("display_name", "employee_number")
    )


def hand_over_default(person: Employee) -> Employee | None:
    """Whom `person`'s work goes to unless someone else is chosen: a supervisor of their
    department (not themselves)."""
    if person.department_id is None:
        return None
    return (
        Employee.objects.filter(is_active=True, supervised_departments=person.department_id)
        .exclude(pk=person.pk)
        .order_by("display_name", "employee_number")
        .first()
    )


def department_open_stage_incidents(department_id: int) -> dict[str, int]:
    """{stage: open incidents in it} for the stages the department owns that have any."""
    stages = StageOwnership.objects.filter(department_id=department_id).values_list(
        "stage", flat=True
    )
    rows = (
        Incident.objects.filter(stage__in=list(stages))
        .values("stage")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["stage"]: row["n"] for row in rows if row["n"]}


def assignable_to_any(incidents) -> tuple[dict[int, int], int]:
    """Who may take the current stage of at least one of `incidents` (rules.assignable_people:
    the owning department, the roles, the project), as {person id: how many of them they may
    take}, and how many incidents there are. Asked once per stage and project, not per incident."""
    groups: dict[tuple[str, str], list[Incident]] = {}
    rows = incidents.select_related("device") if isinstance(incidents, QuerySet) else incidents
    for incident in rows:
        groups.setdefault((incident.stage, incident.device.project_key), []).append(incident)
    takes: dict[int, int] = {}
    for group in groups.values():
        for pk in rules.assignable_people(group[0]).values_list("pk", flat=True):
            takes[pk] = takes.get(pk, 0) + len(group)
    return takes, sum(len(group) for group in groups.values())


# --- legacy imports -----------------------------------------------------------------------------
def incidents_worked_in_product(incidents: list[Incident]) -> set[int]:
    """The ids of `incidents` worked on in the product since an import last wrote them (any
    workflow step, record or edit), or opened in the product: a legacy workbook no longer speaks
    for them."""
    if not incidents:
        return set()
    ids = [incident.pk for incident in incidents]
    worked = set(
        IncidentEvent.objects.filter(incident_id__in=ids)
        .exclude(action__in=(WorkflowAction.OPEN, WorkflowAction.IMPORT))
        .values_list("incident_id", flat=True)
    )
    history = Incident.history.model
    latest = (
        history.objects.filter(id__in=ids, history_change_reason=IMPORT_REASON)
        .values("id")
        .annotate(last=Max("history_id"))
        .values_list("last", flat=True)
    )
    tracked = [
        "id",
        "stage",
        "step",
        "assignee_id",
        "description",
        "problem_group_id",
        "fail_station",
        "fail_item",
        "test_log_url",
    ]
    written = {
        row["id"]: row for row in history.objects.filter(history_id__in=latest).values(*tracked)
    }
    return worked | {
        incident.pk
        for incident in incidents
        if incident.pk not in written
        or any(getattr(incident, name) != written[incident.pk][name] for name in tracked)
    }
