"""What the legacy imports read: which incidents were worked on in the product since an import
last wrote them."""

from django.db.models import Max

from incidents.choices import WorkflowAction
from incidents.models import Incident, IncidentEvent
from locations.choices import IMPORT_REASON


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
