"""Reads for dashboards and lists."""

from django.db.models import Count

from incidents.choices import OPEN_STAGES, Stage
from incidents.models import Incident


def incident_stage_counts() -> dict[str, int]:
    """Number of incidents in each stage, every stage present (zero when empty)."""
    counts = dict.fromkeys(Stage.values, 0)
    for row in Incident.objects.values("stage").annotate(n=Count("id")).order_by():
        counts[row["stage"]] = row["n"]
    return counts


def incident_open_count() -> int:
    return Incident.objects.filter(stage__in=OPEN_STAGES).count()
