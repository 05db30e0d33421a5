"""The WebSocket end of the chat (DESIGN.md, Chat): one socket per open page.

Each connection delivers a room's messages exactly once and in order: messages carry the id of
the one before them in the room, a message that arrives with a gap behind it is held a moment
for the missing one and then makes the connection read the gap from the database, a beat now
and then compares with the room's last id (for a lost announcement of the latest message), and
ids a client has already got are dropped.
A client that connects (or reconnects) subscribes first, then sends `resume` with the last id it
has. Refused connections are closed before they are accepted.
"""

import asyncio
import json
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from config.language import language_of
from incidents import access
from locations.models import Device
from messaging import broadcast, selectors, services
from messaging.choices import RoomKind
from messaging.models import Room

CLOSE_FORBIDDEN = 4403
# Two processes announce independently, so a message can overtake the one before it on the way:
# one that arrives with a gap behind it is held this long for the missing one, and only then
# does the connection read the gap from the database (as it does for a dropped announcement).
GAP_WAIT_SECONDS = 0.5


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class TokenBucket:
    """CHAT_BURST messages at once, then CHAT_RATE_PER_SECOND: a flooding client is slowed."""

    def __init__(self, burst: int, rate: float):
        self.capacity, self.rate = burst, rate
        self.tokens, self.stamp = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


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
        return translation.override(language_of(self.scope.get("user")) or settings.LANGUAGE_CODE)

    async def receive(self, text_data=None, bytes_data=None):
        with self.in_language():
            if text_data is None:
                return await self.error("bad_frame", _("Frames are JSON text."))
            if len(text_data.encode()) > settings.CHAT_FRAME_MAX_BYTES:
                return await self.error("too_large", _("This frame is too large."))
            try:
                frame = json.loads(text_data)
            except ValueError:
                return await self.error("bad_frame", _("This frame is not JSON."))
            if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
                return await self.error("bad_frame", _("A frame is a JSON object with a type."))
            await self.receive_frame(frame)

    async def receive_frame(self, frame: dict) -> None:
        await self.error("unknown_type", _("Unknown frame type."))

    async def room_event(self, event: dict) -> None:
        await self.send_json(
            {key: value for key, value in event.items() if key != "type"} | {"type": "event"}
        )


class RoomConsumer(JsonFrames):
    """ws/rooms/incident/<id>/ and ws/rooms/problem-group/<id>/."""

    room: Room | None = None

    async def connect(self):
        kwargs = self.scope["url_route"]["kwargs"]
        self.room = await self.open_room(kwargs["kind"], int(kwargs["subject_id"]))
        if self.room is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group = broadcast.room_group(self.room.pk)
        self.last_sent: int | None = None
        # Live messages go out from the moment the socket subscribes, which is before the
        # client's resume frame arrives: the run sent so began after this id.
        self.live_after: int | None = None
        self.held: dict[int, dict] = {}  # messages waiting for the one before them, by its id
        self.gap_check: asyncio.Future | None = None
        self.bucket = TokenBucket(settings.CHAT_BURST, settings.CHAT_RATE_PER_SECOND)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await database_sync_to_async(services.presence_enter)(
            room=self.room, person=self.scope["user"], channel_name=self.channel_name
        )
        self.beat = asyncio.ensure_future(self.keep_present())

    @database_sync_to_async
    def open_room(self, kind: str, subject_id: int) -> Room | None:
        from incidents.models import Incident, ProblemGroup

        user = self.scope.get("user")
        model = Incident if kind == RoomKind.INCIDENT else ProblemGroup
        subject = model.objects.filter(pk=subject_id).first()
        if not selectors.can_see_subject(kind, subject, user):
            return None
        key = "incident" if kind == RoomKind.INCIDENT else "problem_group"
        room = services.room_for(**{key: subject})
        services.room_join(room=room, person=user)
        return room

    async def keep_present(self) -> None:
        while True:
            await asyncio.sleep(selectors.PRESENCE_BEAT)
            last_id = await self.beat_and_read_last_id()
            # Membership of a group expires (after a day in channels-redis): renew it.
            await self.channel_layer.group_add(self.group, self.channel_name)
            # A dropped announcement of the room's latest message has no later one to show the
            # gap behind it: compare with the room's last id now and then.
            if self.last_sent is not None and last_id > self.last_sent:
                await self.channel_layer.send(
                    self.channel_name, {"type": "chat.gap", "last_id": last_id}
                )

    @database_sync_to_async
    def beat_and_read_last_id(self) -> int:
        """One trip to the database per beat: presence refreshed, the room's last id read."""
        services.presence_beat(room=self.room, channel_name=self.channel_name)
        room = Room.objects.filter(pk=self.room.pk)
        return room.values_list("last_message_id", flat=True).first() or 0

    async def disconnect(self, code):
        if self.room is None:
            return
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
        if not self.bucket.take():
            await self.error(
                "rate_limited",
                _("You are sending too fast; this message was not sent. Wait a moment."),
                client_id=client_id,
            )
            return
        try:
            message, created = await database_sync_to_async(services.message_send)(
                room=self.room,
                author=self.scope["user"],
                text=text,
                client_id=client_id,
                reply_to=reply_to,
                mentions=(mentions or [])[:20],
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
        from messaging.models import Message

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
        await self.channel_layer.send(self.channel_name, {"type": "chat.gap"})

    async def chat_gap(self, event: dict) -> None:
        """Messages held for one that never came, or a room that has more than was sent: read
        what is missing from the database."""
        behind = event.get("last_id", 0) > self.last_sent
        if behind or any(frame["id"] > self.last_sent for frame in self.held.values()):
            await self.catch_up()
        self.held.clear()

    async def chat_message(self, event: dict) -> None:
        await self.deliver(event["message"])

    async def room_presence(self, event: dict) -> None:
        await self.send_json({"type": "presence", "members": event["members"]})


class DeviceConsumer(JsonFrames):
    """ws/devices/<id>/: a device's page hears when the device moves or changes hands."""

    async def connect(self):
        device_id = int(self.scope["url_route"]["kwargs"]["device_id"])
        if not await self.may_see(device_id):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group = broadcast.device_group(device_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    @database_sync_to_async
    def may_see(self, device_id: int) -> bool:
        user = self.scope.get("user")
        return _holds(user, "locations.view_device") and (
            access.restrict(Device.objects.filter(pk=device_id), user).exists()
        )

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)


class DashboardConsumer(JsonFrames):
    """ws/dashboard/: the dashboard hears that incidents moved (never which, nor where: each
    reader's page counts again what it may see) and reloads."""

    async def connect(self):
        if not await self.may_see():
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.channel_layer.group_add(broadcast.DASHBOARD_GROUP, self.channel_name)
        await self.accept()

    @database_sync_to_async
    def may_see(self) -> bool:
        return _holds(self.scope.get("user"), "incidents.view_incident")

    async def disconnect(self, code):
        await self.channel_layer.group_discard(broadcast.DASHBOARD_GROUP, self.channel_name)
