"""People moving between departments: their open assignments, what a move would leave behind,
who takes their work over, and a department's open incidents by stage."""

from django.db.models import Count, Q, QuerySet

from incidents import access
from incidents.choices import OPEN_STAGES
from incidents.models import Employee, Incident, StageOwnership


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
