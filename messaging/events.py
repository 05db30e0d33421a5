"""What happens to an incident and to its device, told where people look: a system line in the
incident's room (each reader sees it in their own language) and an event frame that makes every
open page of the incident, or of the device, refresh what changed (see `messaging.broadcast`).

The workflow and the devices app know none of this: they send their signals once a change has
committed (`incidents.signals.incident_changed` and `record_added`, `locations.signals.
device_moved`), and the receivers here, connected in MessagingConfig.ready(), tell it. They never
fail the change: whatever goes wrong here is logged, and the change stands (its timeline and
trail have it anyway).
"""

import logging

from django.db import transaction

from incidents.choices import WorkflowAction
from incidents.models import IncidentEvent
from incidents.selectors import device_open_incident
from locations import reasons
from locations.models import Device
from locations.selectors import trail_step
from messaging import broadcast, services

logger = logging.getLogger(__name__)

# System-line codes (the contract is in messaging.broadcast's docstring).
WORKFLOW = "workflow"
DEVICE_MOVED = "device.moved"

# What is told in the room; records and results add to the stage, the others move the incident.
TOLD_ACTIONS = {
    WorkflowAction.ASSIGN,
    WorkflowAction.UNASSIGN,
    WorkflowAction.SUBMIT,
    WorkflowAction.APPROVE,
    WorkflowAction.REJECT,
    WorkflowAction.CANCEL,
    WorkflowAction.RECORD,
    WorkflowAction.RESULT,
}
RECORD_ACTIONS = {WorkflowAction.RECORD, WorkflowAction.RESULT}
# What changes the dashboard's figures: an incident opened, or moved in its stage or step.
DASHBOARD_ACTIONS = {
    WorkflowAction.OPEN,
    WorkflowAction.IMPORT,
    *(TOLD_ACTIONS - RECORD_ACTIONS),
}


def incident_changed_committed(sender, *, event_id: int, **kwargs) -> None:
    """Receiver of `incidents.signals.incident_changed`: an incident opened or moved."""
    incident_event_committed(event_id)


def record_added_committed(sender, *, event_id: int, files: list[str] = (), **kwargs) -> None:
    """Receiver of `incidents.signals.record_added`: a record or a result added to the stage."""
    incident_event_committed(event_id, files=files)


def incident_event_committed(event_id: int, *, files: list[str] = ()) -> None:
    """A timeline entry has committed: its line in the incident's room, then the event that
    refreshes the incident's open pages. `files` names a new record's attachments."""
    try:
        _tell_incident_event(event_id, list(files))
    except Exception:
        logger.exception("Could not tell the room about timeline entry %s", event_id)


def _tell_incident_event(event_id: int, files: list[str]) -> None:
    event = (
        IncidentEvent.objects.select_related("incident", "actor", "assignee")
        .filter(pk=event_id)
        .first()
    )
    if event is None:
        return
    if event.action in DASHBOARD_ACTIONS:
        transaction.on_commit(broadcast.dashboard_event)
    if event.action not in TOLD_ACTIONS:
        return
    incident = event.incident
    room = services.room_for(incident=incident)
    params = {
        "action": event.action,
        "from_stage": event.from_stage,
        "to_stage": event.to_stage,
        "from_step": event.from_step,
        "to_step": event.to_step,
        "assignee": event.assignee.get_full_name() if event.assignee else None,
        "comment": event.comment,
    }
    if event.verdict:
        params["verdict"] = event.verdict
    if files:
        params["files"] = files
    services.room_post_event(
        room=room, code=WORKFLOW, actor=event.actor, at=event.created_at, **params
    )
    if event.action in RECORD_ACTIONS:
        name, data = broadcast.RECORD_ADDED, {"incident": incident.pk, "action": event.action}
    else:
        name = broadcast.INCIDENT_CHANGED
        data = {
            "incident": incident.pk,
            "action": event.action,
            "stage": incident.stage,
            "step": incident.step,
        }
    transaction.on_commit(lambda: broadcast.room_event(room.pk, name, data))


def device_moved_committed(sender, *, device_id: int, history_id, backdated: bool, **kwargs):
    """Receiver of `locations.signals.device_moved`: the device's open pages refresh; a move
    made now (not an old one told late) is also told in the room of its open incident."""
    try:
        _tell_device_moved(device_id, history_id, backdated)
    except Exception:
        logger.exception("Could not tell about the move of device %s", device_id)


def _tell_device_moved(device_id: int, history_id: int | None, backdated: bool) -> None:
    device = Device.objects.filter(pk=device_id).first()
    if device is None:
        return
    data = {"device": device.pk}
    incident = device_open_incident(device)
    room = services.room_for(incident=incident) if incident is not None else None
    entry = _trail_entry(device, history_id) if room is not None and not backdated else None
    if entry is not None:
        services.room_post_event(
            room=room, code=DEVICE_MOVED, actor=entry["by"], at=entry["at"], **entry["params"]
        )

    def announce() -> None:
        broadcast.device_event(device.pk, broadcast.DEVICE_MOVED, data)
        if room is not None:
            broadcast.room_event(room.pk, broadcast.DEVICE_MOVED, data)

    transaction.on_commit(announce)


def _trail_entry(device: Device, history_id: int | None) -> dict | None:
    """The move as the system line tells it: places and people as their display text."""
    step = trail_step(device, history_id) if history_id is not None else None
    if step is None:
        return None
    record, previous = step

    def place(entry):
        return str(entry.location) if entry is not None and entry.location else None

    def person(entry):
        return entry.holder.get_full_name() if entry is not None and entry.holder else None

    return {
        "by": record.history_user,
        "at": record.history_date,
        "params": {
            "serial": device.serial_number,
            "from_location": place(previous),
            "to_location": place(record),
            "from_holder": person(previous),
            "to_holder": person(record),
            "reason": reasons.as_param(record.history_change_reason),
        },
    }
