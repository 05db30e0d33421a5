"""The WebSocket end of the chat (DESIGN.md, Chat): one socket per open page.

Each connection delivers a room's messages exactly once and in order: messages carry the id of
the one before them in the room, a message that arrives with a gap behind it is held a moment
for the missing one and then makes the connection read the gap from the database, a beat now
and then compares with the room's last id (for a lost announcement of the latest message), and
ids a client has already got are dropped.
A client that connects (or reconnects) subscribes first, then sends `resume` with the last id it
has. Refused connections are closed before they are accepted.

Rights are checked at connect and again before every frame taken from the client and every
frame handed to it (`Guarded`, `messaging.rights`): a socket whose person was deactivated or may
no longer see what it shows sends a reason frame and closes, and nothing more goes through it.
"""

import asyncio
import contextlib
import json
import re

from channels.db import database_sync_to_async
from channels.exceptions import ChannelFull
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from config.kit import processes
from config.kit.language import language_of
from incidents import access
from incidents.models import Employee, Incident, ProblemGroup
from locations.models import Device
from messaging import broadcast, rights, selectors, services
from messaging.choices import RoomKind
from messaging.models import Message, Room

CLOSE_FORBIDDEN = 4403
# Two processes announce independently, so a message can overtake the one before it on the way:
# one that arrives with a gap behind it is held this long for the missing one, and only then
# does the connection read the gap from the database (as it does for a dropped announcement).
GAP_WAIT_SECONDS = 0.5


def _is_int(value) -> bool:
    """An id as a frame may name one: a whole number a database key can hold."""
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def _clean_text(value, depth: int = 0) -> bool:
    """Whether a parsed frame can be taken: nested at most MAX_FRAME_DEPTH deep, and every
    string storable: no NUL (PostgreSQL refuses it) and no lone surrogate (JSON's \\ud800
    escapes parse to one; UTF-8 cannot hold it)."""
    if depth > MAX_FRAME_DEPTH:
        return False
    if isinstance(value, str):
        return "\x00" not in value and not _SURROGATE.search(value)
    if isinstance(value, dict):
        return all(_clean_text(k, depth) and _clean_text(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(_clean_text(item, depth + 1) for item in value)
    return True


# No frame of the wire nests deeper than a list in an object.
MAX_FRAME_DEPTH = 8
_SURROGATE = re.compile("[\ud800-\udfff]")


def _holds(user, permission: str) -> bool:
    """Whether the connection's person is signed in, active and holds `permission`."""
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(permission))


class JsonFrames(AsyncWebsocketConsumer):
    """Frames in and out as JSON; bad frames get an error frame, never a crash."""

    async def send_json(self, content: dict) -> None:
        await self.send(text_data=json.dumps(content, ensure_ascii=False))

    async def error(self, code: str, message: str, **extra) -> None:
        await self.send_json({"type": "error", "code": code, "message": str(message), **extra})

    def in_language(self):
        person = getattr(self, "person", None) or self.scope.get("user")
        return translation.override(language_of(person) or settings.LANGUAGE_CODE)

    async def frame_allowed(self) -> bool:
        return True

    async def receive(self, text_data=None, bytes_data=None):
        if not await self.frame_allowed():
            return
        with self.in_language():
            if text_data is None:
                return await self.error("bad_frame", _("Frames are JSON text."))
            if len(text_data.encode()) > settings.CHAT_FRAME_MAX_BYTES:
                return await self.error("too_large", _("This frame is too large."))
            try:
                frame = json.loads(text_data)
            except (ValueError, RecursionError):
                # RecursionError: JSON nested deeper than the parser goes.
                return await self.error("bad_frame", _("This frame is not JSON."))
            if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
                return await self.error("bad_frame", _("A frame is a JSON object with a type."))
            if not _clean_text(frame):
                return await self.error(
                    "bad_frame",
                    _(
                        "This frame is nested too deep or holds text that cannot be stored (a "
                        "NUL or a lone surrogate)."
                    ),
                )
            await self.receive_frame(frame)

    async def receive_frame(self, frame: dict) -> None:
        await self.error("unknown_type", _("Unknown frame type."))

    async def room_event(self, event: dict) -> None:
        await self.send_json(
            {key: value for key, value in event.items() if key != "type"} | {"type": "event"}
        )


class Guarded(JsonFrames):
    """A socket that stays open only while its person keeps the right to it.

    `permitted(person)` (run in a database thread) says whether a person, as just read, may have
    the socket. It is asked at connect; after that the answer is kept together with the rights
    stamp read before it (`messaging.rights.stamp`), and asked again, with the person read
    afresh, whenever the stamp differs before a frame comes in or goes out, when the person's
    group is told `rights.check`, and on a room's presence beat. A no sends a reason frame in
    the person's language and closes the socket (CLOSE_FORBIDDEN); nothing passes after it."""

    person = None
    stamp = None
    shut = False
    beat: asyncio.Future | None = None

    def permitted(self, person) -> bool:
        raise NotImplementedError

    @database_sync_to_async
    def admit(self, *args) -> bool:
        """At connect: whether the signed-in person may have the socket (`args` are passed to
        `permitted`); the person and stamp are kept for the next checks."""
        user = self.scope.get("user")
        if not (user and user.is_authenticated):
            return False
        stamp = rights.stamp(user.pk)  # before the check: a change after it shows in the stamp
        person, refusal = self.read_and_check(user.pk, *args)
        if refusal is not None:
            return False
        self.person, self.stamp = person, stamp
        return True

    def read_and_check(self, person_id: int, *args):
        """The person read afresh, and why they may not have the socket (None when they may)."""
        person = Employee.objects.select_related("department").filter(pk=person_id).first()
        if person is None or not person.is_active:
            return person, "account_inactive"
        if not self.permitted(person, *args):
            return person, "access_lost"
        return person, None

    @database_sync_to_async
    def check_again(self):
        stamp = rights.stamp(self.person.pk)
        person, refusal = self.read_and_check(self.person.pk)
        return stamp, person, refusal

    async def still_allowed(self, force: bool = False) -> bool:
        """Whether the socket may go on; when not, it is closed with a reason frame."""
        if self.shut or self.person is None:
            return False
        if not force:
            stamp = await rights.astamp(self.person.pk)
            if stamp == self.stamp:
                return True
        stamp, person, refusal = await self.check_again()
        if refusal is None:
            self.person, self.stamp = person, stamp
            return True
        await self.shut_down(refusal, person)
        return False

    async def shut_down(self, refusal: str, person) -> None:
        if self.shut:  # the beat and a frame found it at the same moment: one reason, one close
            return
        self.shut = True
        with translation.override(language_of(person or self.person) or settings.LANGUAGE_CODE):
            if refusal == "account_inactive":
                message = _("Your account was deactivated: this connection is closed.")
            else:
                message = _("You may no longer see this: this connection is closed.")
            await self.error(refusal, message)
        await self.leave()
        await self.close(code=CLOSE_FORBIDDEN)

    async def join_person_group(self) -> None:
        await self.channel_layer.group_add(
            broadcast.person_group(self.person.pk), self.channel_name
        )

    async def join_groups(self) -> None:
        """Hear what the socket shows and what concerns its person (joined again on each beat:
        a membership expires after a day in channels-redis)."""
        await self.join_person_group()

    def start_beat(self) -> None:
        self.beat = asyncio.ensure_future(self.keep_checking())

    async def keep_checking(self) -> None:
        """Rights changed where nothing was told (a bulk write) are seen within a beat."""
        while True:
            await asyncio.sleep(selectors.PRESENCE_BEAT)
            if not await self.still_allowed(force=True):
                return
            await self.join_groups()

    async def leave(self) -> None:
        """Stop hearing anything (called once the socket is refused, and on disconnect)."""
        if self.beat is not None and self.beat is not asyncio.current_task():
            self.beat.cancel()
        if self.person is not None:
            await self.channel_layer.group_discard(
                broadcast.person_group(self.person.pk), self.channel_name
            )

    async def frame_allowed(self) -> bool:
        return await self.still_allowed()

    async def rights_check(self, event: dict) -> None:
        await self.still_allowed(force=True)

    async def room_event(self, event: dict) -> None:
        if await self.still_allowed():
            await super().room_event(event)

    async def disconnect(self, code):
        if not self.shut:
            self.shut = True
            await self.leave()


class RoomConsumer(Guarded):
    """ws/rooms/incident/<id>/ and ws/rooms/problem-group/<id>/."""

    room: Room | None = None

    async def connect(self):
        kwargs = self.scope["url_route"]["kwargs"]
        if not await self.admit(kwargs["kind"], int(kwargs["subject_id"])):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.room = await self.open_room()
        self.group = broadcast.room_group(self.room.pk)
        self.last_sent: int | None = None
        # Live messages go out from the moment the socket subscribes, which is before the
        # client's resume frame arrives: the run sent so began after this id.
        self.live_after: int | None = None
        self.held: dict[int, dict] = {}  # messages waiting for the one before them, by its id
        self.gap_check: asyncio.Future | None = None
        self.beat: asyncio.Future | None = None
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.join_person_group()
        await self.accept()
        await database_sync_to_async(services.presence_enter)(
            room=self.room,
            person=self.person,
            channel_name=self.channel_name,
            process=processes.this_process("app"),
        )
        self.beat = asyncio.ensure_future(self.keep_present())

    def permitted(self, person, kind: str | None = None, subject_id: int | None = None) -> bool:
        """Whether `person` may see the room's subject (at connect: the subject asked for, kept
        for the room to be opened with)."""
        if kind is None:  # the room is open: its subject as it is now
            return selectors.can_see_room(self.room, person)
        model = Incident if kind == RoomKind.INCIDENT else ProblemGroup
        self.subject = (kind, model.objects.filter(pk=subject_id).first())
        return access.may_see_subject(self.subject[1], person)

    @database_sync_to_async
    def open_room(self) -> Room:
        kind, subject = self.subject
        key = "incident" if kind == RoomKind.INCIDENT else "problem_group"
        room = services.room_for(**{key: subject})
        services.room_join(room=room, person=self.person)
        return room

    async def keep_present(self) -> None:
        while True:
            await asyncio.sleep(selectors.PRESENCE_BEAT)
            # Rights changed where nothing was told (a bulk write) are seen within a beat.
            if not await self.still_allowed(force=True):
                return
            last_id = await self.beat_and_read_last_id()
            # Membership of a group expires (after a day in channels-redis): renew it.
            await self.channel_layer.group_add(self.group, self.channel_name)
            await self.join_person_group()
            # A dropped announcement of the room's latest message has no later one to show the
            # gap behind it: compare with the room's last id now and then.
            if self.last_sent is not None and last_id > self.last_sent:
                # A full channel is behind: the next beat compares again; the beat goes on.
                with contextlib.suppress(ChannelFull):
                    await self.channel_layer.send(
                        self.channel_name, {"type": "chat.gap", "last_id": last_id}
                    )

    @database_sync_to_async
    def beat_and_read_last_id(self) -> int:
        """One trip to the database per beat: presence refreshed, the room's last id read."""
        services.presence_beat(
            room=self.room,
            person=self.person,
            channel_name=self.channel_name,
            process=processes.this_process("app"),
        )
        room = Room.objects.filter(pk=self.room.pk)
        return room.values_list("last_message_id", flat=True).first() or 0

    async def leave(self) -> None:
        await super().leave()
        if self.room is None:
            return
        if self.beat is not None and self.beat is not asyncio.current_task():
            self.beat.cancel()
        if self.gap_check is not None:
            self.gap_check.cancel()
        await self.channel_layer.group_discard(self.group, self.channel_name)
        await database_sync_to_async(services.presence_leave)(
            room=self.room, channel_name=self.channel_name
        )

    # --- from the client ----------------------------------------------------------------------
    async def receive_frame(self, frame: dict) -> None:
        if frame["type"] == "send":
            await self.on_send(frame)
        elif frame["type"] == "resume":
            await self.on_resume(frame)
        else:
            await self.error("unknown_type", _("Unknown frame type."))

    async def on_send(self, frame: dict) -> None:
        client_id, text = frame.get("client_id"), frame.get("text", "")
        reply_to, mentions = frame.get("reply_to"), frame.get("mentions")
        well_formed = (
            isinstance(text, str)
            and isinstance(client_id, str)
            and (reply_to is None or _is_int(reply_to))
            and (mentions is None or (isinstance(mentions, list) and all(map(_is_int, mentions))))
        )
        if not well_formed:
            await self.error(
                "bad_frame",
                _("A send frame has a client_id, a text, and optionally reply_to and mentions."),
                client_id=client_id if isinstance(client_id, str) else None,
            )
            return
        try:
            message, created = await database_sync_to_async(services.message_send)(
                room=self.room,
                author=self.person,
                text=text,
                client_id=client_id,
                reply_to=reply_to,
                mentions=mentions or [],
                spend_budget=True,
            )
        except services.ChatError as error:
            await self.error(error.code, error.message, client_id=client_id)
            return
        if not created:  # sent before: this client gets it (again), nobody else
            await self.deliver(await self.frame_of(message.pk))

    async def on_resume(self, frame: dict) -> None:
        after = frame.get("after")
        if after is None:
            after = 0
        if not _is_int(after) or after < 0:
            await self.error("bad_frame", _("A resume frame has the last id the client has."))
            return
        live_after, self.live_after = self.live_after, None
        if live_after is None or after >= self.last_sent:
            self.last_sent = after
        else:  # the client has up to `after` and the live run: only what lies between is new
            await self.send_between(after, live_after)
        await self.catch_up()

    # --- to the client ------------------------------------------------------------------------
    @database_sync_to_async
    def frame_of(self, message_id: int) -> dict:
        return selectors.message_frame(
            Message.objects.select_related("author__department", "reply_to__author")
            .prefetch_related("attachments", "mentions")
            .get(pk=message_id)
        )

    @database_sync_to_async
    def frames_after(self, after: int) -> list[dict]:
        return [selectors.message_frame(m) for m in selectors.messages_after(self.room, after)]

    async def catch_up(self) -> None:
        """Everything after the last id sent, in order, from the database."""
        while True:
            frames = await self.frames_after(self.last_sent or 0)
            for frame in frames:
                await self.send_json(frame)
                self.last_sent = frame["id"]
            if len(frames) < 500:
                self.held.clear()  # they were stored before they came: all sent now
                return

    async def send_between(self, after: int, up_to: int) -> None:
        """The messages after `after` up to `up_to` included, in order, from the database."""
        while after < up_to:
            frames = [frame for frame in await self.frames_after(after) if frame["id"] <= up_to]
            if not frames:
                return
            for frame in frames:
                await self.send_json(frame)
            after = frames[-1]["id"]

    async def deliver(self, frame: dict) -> None:
        if self.last_sent is not None and frame["id"] <= self.last_sent:
            return  # the client has it already
        if self.last_sent is None or frame["prev_id"] in (None, self.last_sent):
            if self.last_sent is None:
                self.live_after = frame["prev_id"] or 0
            await self.send_json(frame)
            self.last_sent = frame["id"]
            while (following := self.held.pop(self.last_sent, None)) is not None:
                await self.send_json(following)
                self.last_sent = following["id"]
        else:  # the one before it is late, or its announcement was dropped
            self.held[frame["prev_id"]] = frame
            if self.gap_check is None or self.gap_check.done():
                self.gap_check = asyncio.ensure_future(self.check_gap_later())

    async def check_gap_later(self) -> None:
        await asyncio.sleep(GAP_WAIT_SECONDS)
        # Through the connection's own channel, so that the check runs between deliveries. A
        # full channel (the connection is behind) is asked again once it may have room: the
        # check is never dropped, or the messages held would wait for the next beat.
        while not self.shut:
            try:
                await self.channel_layer.send(self.channel_name, {"type": "chat.gap"})
                return
            except ChannelFull:
                await asyncio.sleep(GAP_WAIT_SECONDS)

    async def chat_gap(self, event: dict) -> None:
        """Messages held for one that never came, or a room that has more than was sent: read
        what is missing from the database."""
        if not await self.still_allowed():
            return
        behind = event.get("last_id", 0) > self.last_sent
        if behind or any(frame["id"] > self.last_sent for frame in self.held.values()):
            await self.catch_up()
        self.held.clear()

    async def chat_message(self, event: dict) -> None:
        if await self.still_allowed():
            await self.deliver(event["message"])

    async def room_presence(self, event: dict) -> None:
        if await self.still_allowed():
            await self.send_json({"type": "presence", "members": event["members"]})


class DeviceConsumer(Guarded):
    """ws/devices/<id>/: a device's page hears when the device moves or changes hands. It is
    closed once its person may no longer see the device: deactivated, without the capability,
    or the device's project restricted to others (every device page hears of a restriction)."""

    device_id: int | None = None

    async def connect(self):
        self.device_id = int(self.scope["url_route"]["kwargs"]["device_id"])
        if not await self.admit():
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group = broadcast.device_group(self.device_id)
        await self.join_groups()
        await self.accept()
        self.start_beat()

    async def join_groups(self) -> None:
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.channel_layer.group_add(broadcast.DEVICE_PAGES_GROUP, self.channel_name)
        await super().join_groups()

    def permitted(self, person) -> bool:
        return _holds(person, "locations.view_device") and (
            Device.objects.filter(pk=self.device_id).visible_to(person).exists()
        )

    async def leave(self) -> None:
        await super().leave()
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.channel_layer.group_discard(broadcast.DEVICE_PAGES_GROUP, self.channel_name)


class DashboardConsumer(Guarded):
    """ws/dashboard/: the dashboard hears that incidents moved (never which, nor where: each
    reader's page counts again what it may see) and reloads. It is closed once its person is
    deactivated or loses the capability to see incidents."""

    async def connect(self):
        if not await self.admit():
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.join_groups()
        await self.accept()
        self.start_beat()

    async def join_groups(self) -> None:
        await self.channel_layer.group_add(broadcast.DASHBOARD_GROUP, self.channel_name)
        await super().join_groups()

    def permitted(self, person) -> bool:
        return _holds(person, "incidents.view_incident")

    async def leave(self) -> None:
        await super().leave()
        await self.channel_layer.group_discard(broadcast.DASHBOARD_GROUP, self.channel_name)
