"""Who may take work: the open workload the assign and new-incident forms show beside each
person, and who may take the current stage of a set of incidents."""

from django.db.models import Count, Q, QuerySet

from incidents import rules
from incidents.choices import OPEN_STAGES
from incidents.models import Employee, Incident


def with_open_workload(people: QuerySet[Employee]) -> QuerySet[Employee]:
    """`people`, each with `open_workload`: the open incidents assigned to them now."""
    return people.annotate(
        open_workload=Count(
            "assigned_incidents",
            filter=Q(assigned_incidents__stage__in=OPEN_STAGES),
            distinct=True,
        )
    )


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
