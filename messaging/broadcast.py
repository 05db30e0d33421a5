"""The one place that talks to the channel layer: group names, event types, and what is sent.

Everything here is called after the change it announces has committed (services register it
with `transaction.on_commit`), so a rolled-back change never announces itself. What is sent is
a hint with the stored data: a client that missed it asks for everything after its last id.

Frames a page receives on its room's socket (besides `message`, `presence` and `error`):
    {"type": "event", "event": "incident.changed", "incident": id, "action": <WorkflowAction>,
     "stage": ..., "step": ...}            a transition: refresh buttons, stage, timeline
    {"type": "event", "event": "record.added", "incident": id, "action": "record" | "result"}
                                           an operation record (with its files) or a result
    {"type": "event", "event": "evidence.changed", "message": id, "attachment": id or null}
    {"type": "event", "event": "message.changed", "message": {...message frame...}}
    {"type": "event", "event": "device.moved", "device": id}      where the device is
A device's page (ws/devices/<id>/) receives only `device.moved`.
Every socket (room, device page, dashboard) is closed, after a reason frame
    {"type": "error", "code": "account_inactive" | "access_lost", "message": "<person's language>"}
and with close code 4403, once its person is deactivated or may no longer see what it shows
(`messaging.rights`); each socket listens on its person's group for `rights.check`, a room's
sockets on the room's group and device pages on DEVICE_PAGES_GROUP (a project's restriction).
The dashboard (ws/dashboard/) receives only {"type": "event", "event": "incidents.changed"}:
an incident was opened or moved, or a project's restriction changed, without saying which (each
reader counts what they may see).
System lines are messages of kind "system" whose `event` is a code with parameters, rendered in
each reader's language by the page; the message's author is the person who acted (or null):
    {"code": "workflow", "action": <WorkflowAction>, "from_stage", "to_stage", "from_step",
     "to_step", "assignee": name or null, "comment": text, "verdict": <Verdict> (results
     with one only), "files": [names] (records only, when it has attachments)}
    {"code": "device.moved", "serial", "from_location", "to_location", "from_holder",
     "to_holder", "reason"}    (places and people as their display text, or null; the reason
     is a person's words, or a code with parameters {"code": ..., ...} of locations.reasons)
Both are written after the change they tell of has committed (messaging.events), at its time.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from messaging.models import Message, Room
from messaging.selectors import message_frame, room_members

logger = logging.getLogger(__name__)

# Consumer handler names (the channel layer's "type") and the events clients see.
CHAT_MESSAGE = "chat.message"
ROOM_EVENT = "room.event"
PRESENCE = "room.presence"
RIGHTS_CHECK = "rights.check"

INCIDENT_CHANGED = "incident.changed"
RECORD_ADDED = "record.added"
DEVICE_MOVED = "device.moved"
MESSAGE_CHANGED = "message.changed"
EVIDENCE_CHANGED = "evidence.changed"
INCIDENTS_CHANGED = "incidents.changed"
DASHBOARD_GROUP = "dashboard"
# Every open device page, whatever its device: told when a project's restriction changes.
DEVICE_PAGES_GROUP = "device-pages"


def room_group(room_id: int) -> str:
    return f"room.{room_id}"


def device_group(device_id: int) -> str:
    return f"device.{device_id}"


def person_group(person_id: int) -> str:
    """Every open socket of one person, whatever it shows."""
    return f"person.{person_id}"


def _send(group: str, payload: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, payload)
    except Exception:  # the database has it: clients that miss it catch up on resume
        logger.exception("Could not announce %s to %s", payload.get("type"), group)


def message_created(message_id: int, *, frame: dict | None = None) -> None:
    """A stored message, to everyone in its room: its `frame` when the writer made it from what
    it stored (no read), else read from the database."""
    if frame is not None:
        _send(room_group(frame["room"]), {"type": CHAT_MESSAGE, "message": frame})
        return
    message = (
        Message.objects.select_related("author__department", "reply_to__author", "room")
        .prefetch_related("attachments", "mentions")
        .filter(pk=message_id)
        .first()
    )
    if message is not None:
        _send(
            room_group(message.room_id), {"type": CHAT_MESSAGE, "message": message_frame(message)}
        )


def message_changed(message_id: int) -> None:
    """A message edited or deleted by its author: every open page shows the trace."""
    message = (
        Message.objects.select_related("author__department", "reply_to__author")
        .prefetch_related("attachments", "mentions")
        .filter(pk=message_id)
        .first()
    )
    if message is not None:
        room_event(message.room_id, MESSAGE_CHANGED, {"message": message_frame(message)})


def room_event(room_id: int, event: str, data: dict | None = None) -> None:
    """Something happened to the room's subject: open pages refresh what it changed."""
    _send(room_group(room_id), {"type": ROOM_EVENT, "event": event, **(data or {})})


def device_event(device_id: int, event: str, data: dict | None = None) -> None:
    """A device moved or changed hands: its open pages refresh."""
    _send(device_group(device_id), {"type": ROOM_EVENT, "event": event, **(data or {})})


def dashboard_event() -> None:
    """An incident was opened or moved: open dashboards count again."""
    _send(DASHBOARD_GROUP, {"type": ROOM_EVENT, "event": INCIDENTS_CHANGED})


def presence_changed(room_id: int) -> None:
    """Who is in the room and who is online now, read once for every open page."""
    room = Room.objects.filter(pk=room_id).first()
    if room is not None:
        _send(room_group(room_id), {"type": PRESENCE, "members": room_members(room)})


def rights_check_people(person_ids) -> None:
    """These people's rights changed: each of their open sockets checks them now."""
    for person_id in person_ids:
        _send(person_group(person_id), {"type": RIGHTS_CHECK})


def rights_check_rooms(room_ids) -> None:
    """Who may see these rooms changed: each socket open on them checks its person's rights."""
    for room_id in room_ids:
        _send(room_group(room_id), {"type": RIGHTS_CHECK})


def rights_check_device_pages() -> None:
    """Who may see which devices changed (a project's restriction, a device put into a
    restricted project): each open device page checks its person's rights now."""
    _send(DEVICE_PAGES_GROUP, {"type": RIGHTS_CHECK})
