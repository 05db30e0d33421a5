"""What an incident's page reads besides the incident itself: its timeline, its records and
results grouped by stage, and the summary at the top."""

from incidents import contributions
from incidents.choices import Stage, WorkflowAction
from incidents.models import AnalysisResult, Incident, IncidentEvent, OperationRecord


def incident_timeline(incident: Incident) -> list[IncidentEvent]:
    """Every event of the incident, newest first, with the people already loaded; the opening
    entry of an incident the line opened by itself says so: its `by_line` is the name of the
    token the line's station reported with ("" on every other entry)."""
    events = list(
        incident.events.select_related("actor", "assignee").order_by("-created_at", "-id")
    )
    line = incident_reported_by_line(incident)
    for event in events:
        event.by_line = line if event.action == WorkflowAction.OPEN and not event.actor_id else ""
    return events


def incident_reported_by_line(incident: Incident) -> str:
    """The name of the token with which the line reported the failures that opened `incident`
    ("" when a person opened it)."""
    if incident.reported_by_token_id is None:
        return ""
    return incident.reported_by_token.name


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
