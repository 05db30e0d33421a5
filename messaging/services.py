"""Writes of the chat. Each is atomic; each stores first and announces after commit through
`messaging.broadcast`, so the database is the source of truth and a client that missed an
announcement catches up by asking for everything after its last id."""

import re
import uuid
from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from incidents import rules
from incidents.models import Employee, Incident, ProblemGroup
from incidents.services.notifications import notify_mention
from incidents.services.records import (
    attachment_check,
    files_removed_on_failure,
    stored_name,
)
from messaging import broadcast, limits
from messaging.choices import MessageKind, RevisionKind, RoomKind
from messaging.models import (
    Evidence,
    Mention,
    Message,
    MessageAttachment,
    MessageRevision,
    Presence,
    Room,
    RoomMember,
)
from messaging.search import index_message
from messaging.selectors import can_see_room, message_frame, room_subject

THUMBNAIL_SIZE = (320, 320)


class ChatError(Exception):
    """A refused chat action: `code` for clients, `message` for people, in their language."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# --- rooms ----------------------------------------------------------------------------------------
def room_for(
    *, incident: Incident | None = None, problem_group: ProblemGroup | None = None
) -> Room:
    """The room of an incident or a problem group, created on first use."""
    if incident is not None:
        lookup = {"kind": RoomKind.INCIDENT, "incident_id": incident.pk}
    else:
        lookup = {"kind": RoomKind.PROBLEM_GROUP, "problem_group_id": problem_group.pk}
    room = Room.objects.filter(**lookup).first()
    if room is not None:
        return room
    try:
        with transaction.atomic():
            return Room.objects.create(**lookup)
    except IntegrityError:  # someone opened it at the same moment
        return Room.objects.get(**lookup)


def room_join(*, room: Room, person: Employee) -> RoomMember:
    """Opening a room makes one a member; what was there before counts as read."""
    member, _created = RoomMember.objects.get_or_create(
        room=room, person=person, defaults={"last_read_id": room.last_message_id or 0}
    )
    return member


def room_mark_read(*, room: Room, person: Employee, up_to: int) -> None:
    """Everything up to `up_to` was shown to the person; reading never goes backwards."""
    up_to = min(int(up_to), room.last_message_id or 0)
    RoomMember.objects.filter(room=room, person=person, last_read_id__lt=up_to).update(
        last_read_id=up_to
    )


def presence_enter(*, room: Room, person: Employee, channel_name: str, process: str = "") -> None:
    """A connection opened the room (`process`: the app process holding it, when that process
    has a heartbeat)."""
    Presence.objects.update_or_create(
        room=room,
        channel_name=channel_name,
        defaults={"person": person, "process": process, "seen_at": timezone.now()},
    )
    transaction.on_commit(lambda: broadcast.presence_changed(room.pk))


def presence_beat(*, room: Room, person: Employee, channel_name: str, process: str = "") -> None:
    """The connection is still open. Its presence is entered again if it was cleared (its
    process was taken for dead while it could not announce itself)."""
    kept = Presence.objects.filter(room=room, channel_name=channel_name).update(
        seen_at=timezone.now(), process=process
    )
    if not kept:
        presence_enter(room=room, person=person, channel_name=channel_name, process=process)


def presence_leave(*, room: Room, channel_name: str) -> None:
    Presence.objects.filter(room=room, channel_name=channel_name).delete()
    transaction.on_commit(lambda: broadcast.presence_changed(room.pk))


@transaction.atomic
def presence_clear_dead(*, alive: set[str]) -> list[int]:
    """Remove the presences held by app processes no longer alive (`alive`: the keys of the
    processes that are) and tell each room concerned who is online now; those rooms."""
    gone = list(
        Presence.objects.exclude(process="")
        .exclude(process__in=sorted(alive))
        .values_list("pk", "room_id")
    )
    if not gone:
        return []
    Presence.objects.filter(pk__in=[pk for pk, _room in gone]).delete()
    room_ids = sorted({room_id for _pk, room_id in gone})

    def tell_rooms():
        for room_id in room_ids:
            broadcast.presence_changed(room_id)

    transaction.on_commit(tell_rooms)
    return room_ids


# --- messages -------------------------------------------------------------------------------------
def _check_can_post(room: Room, person: Employee) -> None:
    if not can_see_room(room, person):
        raise ChatError("forbidden", _("You may not write in this room."))


MENTION = re.compile(r"@\[(\d+)\]")


def mentioned(text: str, mentions=()) -> list[int]:
    """The people a message calls: those given, then those named @[id] in its text, each once."""
    return list(dict.fromkeys([*mentions, *map(int, MENTION.findall(text or ""))]))


def send_budget_take(*, person: Employee, mentions: int) -> None:
    """Take one message and `mentions` people mentioned from the person's budget, shared by their
    sockets and the HTTP send (messaging.limits); refused (ChatError) past it, taking nothing."""
    refused = limits.take(person_id=person.pk, mentions=mentions)
    if refused == limits.RATE_LIMITED:
        raise ChatError(
            "rate_limited",
            _("You are sending too fast; this message was not sent. Wait a moment."),
        )
    if refused == limits.TOO_MANY_MENTIONS:
        raise ChatError(
            "too_many_mentions",
            _(
                "You have mentioned more than %(limit)d people in the last minute; this "
                "message was not sent. Wait a minute, or mention fewer people."
            )
            % {"limit": settings.CHAT_MENTIONS_PER_MINUTE},
        )


@transaction.atomic
def message_send(
    *,
    room: Room,
    author: Employee,
    text: str,
    client_id: uuid.UUID | str | None = None,
    reply_to: int | None = None,
    mentions: list[int] = (),
    files: list[UploadedFile] = (),
    spend_budget: bool = False,
) -> tuple[Message, bool]:
    """Store a message and announce it after commit; returns it and whether it is new.

    The room row is locked while the message gets its id, so ids only grow within a room in
    the order messages commit, and each message knows the one before it. Sending the same
    `client_id` twice stores one message (the second call returns the first). A message calls
    at most CHAT_MENTIONS_PER_MESSAGE people. What a person sends (the socket, the HTTP send:
    `spend_budget`) is taken from their budget before anything is stored; sending again a
    message that was stored takes nothing."""
    _check_can_post(room, author)
    text = (text or "").strip()
    if not text and not files:
        raise ChatError("empty", _("Write something or attach a file."))
    if len(text) > settings.CHAT_MESSAGE_MAX_CHARS:
        raise ChatError(
            "too_long",
            _("A message may be at most %(limit)d characters (this one has %(length)d).")
            % {"limit": settings.CHAT_MESSAGE_MAX_CHARS, "length": len(text)},
        )
    try:
        client_id = uuid.UUID(str(client_id)) if client_id else None
    except ValueError:
        raise ChatError("bad_client_id", _("The client id is not a UUID.")) from None
    named = mentioned(text, mentions)
    if len(named) > settings.CHAT_MENTIONS_PER_MESSAGE:
        raise ChatError(
            "too_many_mentions",
            ngettext(
                "A message may mention at most %(limit)d person (this one mentions %(count)d).",
                "A message may mention at most %(limit)d people (this one mentions %(count)d).",
                settings.CHAT_MENTIONS_PER_MESSAGE,
            )
            % {"limit": settings.CHAT_MENTIONS_PER_MESSAGE, "count": len(named)},
        )
    content_types = []
    for upload in files:
        try:
            content_types.append(attachment_check(upload))
        except Exception as error:  # the same limits as record attachments
            raise ChatError("bad_file", getattr(error, "message", str(error))) from error

    if spend_budget:
        if client_id is not None:
            existing = Message.objects.filter(room=room, client_id=client_id).first()
            if existing is not None:
                return existing, False
        send_budget_take(person=author, mentions=len(named))
    room = Room.objects.select_for_update().get(pk=room.pk)
    if client_id is not None:
        existing = Message.objects.filter(room=room, client_id=client_id).first()
        if existing is not None:
            return existing, False
    quoted = None
    if reply_to:
        quoted = (
            Message.objects.filter(room=room, pk=reply_to)
            .select_related("author__department")
            .first()
        )
        if quoted is None:
            raise ChatError("bad_reply", _("The message you reply to is not in this room."))
    message = Message.objects.create(
        room=room,
        author=author,
        text=text,
        client_id=client_id,
        reply_to=quoted,
        prev_id=room.last_message_id,
    )
    room.last_message_id = message.pk
    room.save(update_fields=["last_message_id"])
    index_message(message)
    # Whatever fails after the files are written rolls the rows back: the files go with them.
    with files_removed_on_failure() as written:
        _attach(message, files, content_types, written)
        _mention(room, message, author, set(named))
        _read_up_to(room, author, message.pk)
    # The frame is made now, from the message as written: announcing it reads nothing more.
    frame = message_frame(message)
    transaction.on_commit(lambda: broadcast.message_created(message.pk, frame=frame))
    return message, True


def _read_up_to(room: Room, person: Employee, message_id: int) -> None:
    """The author has read their room up to their own message (and is a member: one write when
    they already are)."""
    behind = RoomMember.objects.filter(room=room, person=person, last_read_id__lt=message_id)
    if not behind.update(last_read_id=message_id):
        member = room_join(room=room, person=person)
        RoomMember.objects.filter(pk=member.pk, last_read_id__lt=message_id).update(
            last_read_id=message_id
        )


def _attach(message: Message, files, content_types, written: list[str]) -> None:
    # What each file is was judged by its content (`attachment_check`): a picture is a
    # verified bitmap within the pixel budget, decoded once into its preview; the thumbnail
    # is made from the preview, never from the original.
    for upload, checked in zip(files, content_types, strict=True):
        attachment = MessageAttachment(
            message=message,
            original_name=stored_name(upload),
            size=upload.size,
            content_type=checked.content_type,
        )
        attachment.file.save(upload.name, upload, save=False)
        written.append(attachment.file.name)
        if checked.picture is not None:
            picture = checked.picture
            preview = ContentFile(picture.preview)
            attachment.preview.save(f"preview.{picture.preview_suffix}", preview, save=False)
            written.append(attachment.preview.name)
            thumbnail = ContentFile(picture.thumbnail(THUMBNAIL_SIZE))
            attachment.thumbnail.save("thumb.png", thumbnail, save=False)
            written.append(attachment.thumbnail.name)
        attachment.save()


def _mention(room: Room, message: Message, author: Employee, person_ids: set[int]) -> None:
    if not person_ids:
        return
    people = [
        person
        for person in Employee.objects.filter(pk__in=person_ids, is_active=True)
        if can_see_room(room, person)
    ]
    Mention.objects.bulk_create([Mention(message=message, person=p) for p in people])
    subject = room_subject(room)
    notify_mention(
        recipients=people,
        actor=author,
        message_id=message.pk,
        excerpt=" ".join(MENTION.sub("", message.text).split())[:200],
        incident=subject if room.kind == RoomKind.INCIDENT else None,
        problem_group=subject if room.kind == RoomKind.PROBLEM_GROUP else None,
    )


def _own_recent(message: Message, by: Employee) -> Message:
    message = Message.objects.select_for_update().get(pk=message.pk)
    refusal = rules.message_change_refusal(message, by)
    if refusal:
        raise ChatError(*refusal)
    return message


@transaction.atomic
def message_edit(*, message: Message, by: Employee, text: str) -> Message:
    """The author corrects a recent message; the earlier text is kept and shown as edited."""
    text = (text or "").strip()
    if not text:
        raise ChatError("empty", _("Write something, or delete the message instead."))
    if len(text) > settings.CHAT_MESSAGE_MAX_CHARS:
        raise ChatError("too_long", _("This message is too long."))
    message = _own_recent(message, by)
    if text == message.text:
        return message
    if message.evidence.exists():
        # Marked as evidence, it is a fact of the analysis: the report prints what was marked.
        raise ChatError(
            "evidence",
            _("This message is evidence of the incident's analysis and cannot be changed."),
        )
    MessageRevision.objects.create(
        message=message, kind=RevisionKind.EDIT, text=message.text, by=by
    )
    message.text = text
    message.edited_at = timezone.now()
    message.save(update_fields=["text", "edited_at"])
    index_message(message)
    transaction.on_commit(lambda: broadcast.message_changed(message.pk))
    return message


@transaction.atomic
def message_delete(*, message: Message, by: Employee) -> Message:
    """The author takes back a recent message: it shows as deleted, by whom and when; its text
    is kept in its revisions, never silently removed."""
    message = _own_recent(message, by)
    if message.evidence.exists():
        raise ChatError(
            "evidence",
            _("This message is evidence of the incident's analysis and cannot be deleted."),
        )
    MessageRevision.objects.create(
        message=message, kind=RevisionKind.DELETE, text=message.text, by=by
    )
    message.deleted_at = timezone.now()
    message.save(update_fields=["deleted_at"])
    transaction.on_commit(lambda: broadcast.message_changed(message.pk))
    return message


@transaction.atomic
def evidence_mark(
    *, message: Message, by: Employee, attachment: MessageAttachment | None = None
) -> Evidence:
    """Keep a message (or one of its files) with the records of the incident's current stage."""
    room = message.room
    if room.kind != RoomKind.INCIDENT:
        raise ChatError("not_incident", _("Only an incident's messages can be evidence."))
    incident = Incident.objects.select_for_update().get(pk=room.incident_id)
    if not rules.may_mark_evidence(incident, by):
        raise ChatError(
            "forbidden",
            _("Only the assignee, a supervisor of the stage or an administrator marks evidence."),
        )
    # As it is now, not as the caller read it: its author may have deleted it meanwhile.
    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.deleted_at is not None:
        raise ChatError("deleted", _("This message was deleted."))
    if attachment is not None and attachment.message_id != message.pk:
        raise ChatError("bad_file", _("That file is not part of this message."))
    evidence, created = Evidence.objects.get_or_create(
        message=message,
        attachment=attachment,
        defaults={"incident": incident, "stage": incident.stage, "marked_by": by},
    )
    if not created:
        raise ChatError("duplicate", _("This is marked as evidence already."))
    transaction.on_commit(
        lambda: broadcast.room_event(
            room.pk,
            broadcast.EVIDENCE_CHANGED,
            {"message": message.pk, "attachment": str(attachment.pk) if attachment else None},
        )
    )
    return evidence


# --- what happens to the incident, told in its room ----------------------------------------------
@transaction.atomic
def room_post_event(
    *,
    room: Room,
    code: str,
    actor: Employee | None = None,
    at: datetime | None = None,
    **params,
) -> Message:
    """A system line: stored as a code and parameters (shown in each reader's language), at
    the time of what it tells (`at`, by default now)."""
    room = Room.objects.select_for_update().get(pk=room.pk)
    message = Message.objects.create(
        room=room,
        kind=MessageKind.SYSTEM,
        author=actor,
        event={"code": code, **params},
        prev_id=room.last_message_id,
        created_at=at or timezone.now(),
    )
    room.last_message_id = message.pk
    room.save(update_fields=["last_message_id"])
    transaction.on_commit(lambda: broadcast.message_created(message.pk))
    return message
