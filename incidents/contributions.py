"""What an app standing above the workflow adds to its pages and reports, without the workflow
importing it: the lower floor offers the places, the upper one fills them.

The chat registers here, from MessagingConfig.ready(), how to read what it keeps of incidents:
what was marked as evidence in an incident's room (listed with the stage's records on its page,
in its reports and beside similar incidents), and the messages a person has not read yet (the
incident list's column and filter). With nothing registered the workflow's pages show none of it.
"""

from collections.abc import Callable, Iterable

from django.db.models import QuerySet

from incidents.models import Incident


def _no_evidence(incident_id: int) -> Iterable:
    return ()


def _no_evidence_by_incident(incident_ids) -> dict[int, list]:
    return {}


def _no_unread(user, incident_ids) -> dict[int, int]:
    return {}


def _no_unread_incidents(user) -> QuerySet:
    return Incident.objects.none().values("pk")


_evidence: Callable[[int], Iterable] = _no_evidence
_evidence_by_incident: Callable[..., dict[int, list]] = _no_evidence_by_incident
_unread_by_incident: Callable[..., dict[int, int]] = _no_unread
_unread_incident_ids: Callable[..., QuerySet] = _no_unread_incidents


def register(
    *,
    evidence: Callable[[int], Iterable],
    unread_by_incident: Callable[..., dict[int, int]],
    unread_incident_ids: Callable[..., QuerySet],
    evidence_by_incident: Callable[..., dict[int, list]] = _no_evidence_by_incident,
) -> None:
    """Called once, from the contributing app's ready(); see each reader for what it returns."""
    global _evidence, _evidence_by_incident, _unread_by_incident, _unread_incident_ids
    _evidence = evidence
    _evidence_by_incident = evidence_by_incident
    _unread_by_incident = unread_by_incident
    _unread_incident_ids = unread_incident_ids


def incident_evidence(incident_id: int) -> Iterable:
    """What was marked as evidence of the incident, newest first: each mark with its `stage`,
    `marked_at`, `marked_by`, `marked_text`, `message` and `attachment`."""
    return _evidence(incident_id)


def evidence_by_incident(incident_ids) -> dict[int, list]:
    """What was marked as evidence of each of these incidents, newest first, by incident (one
    read for them all; the same marks as `incident_evidence`)."""
    return _evidence_by_incident(incident_ids) if incident_ids else {}


def unread_by_incident(user, incident_ids) -> dict[int, int]:
    """How many messages `user` has not read yet, by incident, for these incidents."""
    return _unread_by_incident(user, incident_ids)


def unread_incident_ids(user) -> QuerySet:
    """The incidents with messages `user` has not read yet, as a subquery of ids."""
    return _unread_incident_ids(user)
