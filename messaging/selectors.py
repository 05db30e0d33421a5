"""Reads of the chat: messages as clients receive them, pages of history, members, unread."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from config.kit import processes
from config.kit.badges import counted_up_to
from incidents import access, rules
from incidents.models import Employee, Incident, ProblemGroup
from locations.models import project_key
from messaging.choices import MessageKind, RoomKind
from messaging.models import Evidence, Message, Presence, Room, RoomMember

PAGE_SIZE = 50
# A connection refreshes its presence every PRESENCE_BEAT seconds; one silent for longer than
# PRESENCE_TIMEOUT belonged to a process that died. A presence that names its app process goes
# sooner: as soon as that process's heartbeat lapses (PROCESS_TTL_SECONDS).
PRESENCE_BEAT = 30
PRESENCE_TIMEOUT = 90


def room_subject(room: Room) -> Incident | ProblemGroup | None:
    if room.kind == RoomKind.INCIDENT:
        return Incident.objects.select_related("device").filter(pk=room.incident_id).first()
    return ProblemGroup.objects.filter(pk=room.problem_group_id).first()


def can_see_room(room: Room, user) -> bool:
    """Whoever may see the incident or problem group (`access.may_see_subject`) reads and
    writes its room."""
    return access.may_see_subject(room_subject(room), user)


def _visible_kinds(user) -> list[str]:
    """The kinds of room `user` may read: those of the subjects they may see."""
    sees = {
        RoomKind.INCIDENT: access.sees_incidents(user),
        RoomKind.PROBLEM_GROUP: access.sees_problem_groups(user),
    }
    return [kind for kind, seen in sees.items() if seen]


def readable_messages(messages: QuerySet[Message], user) -> QuerySet[Message]:
    """`messages` without those of rooms `user` may not read, decided row by row (a list of
    messages names few rooms; the set of every room someone may read is large)."""
    return messages.filter(room__kind__in=_visible_kinds(user)).visible_to(user)


def visible_rooms(user) -> QuerySet[Room]:
    """Every room `user` may read (for search and unread counts)."""
    return Room.objects.filter(kind__in=_visible_kinds(user)).visible_to(user)


def _author(person: Employee | None) -> dict | None:
    if person is None:
        return None
    department = person.department
    return {
        "id": person.pk,
        "name": person.get_full_name(),
        # Frames go to every reader at once: the page names the department in its own language
        # by its id (chat labels), this name is for one it does not know yet.
        "department": department.localized_name if department else "",
        "department_id": person.department_id,
    }


def attachment_url(attachment) -> str:
    return reverse("chat:attachment", args=[attachment.pk])


def message_frame(message: Message) -> dict:
    """A message as the wire carries it (DESIGN.md, Chat)."""
    reply = message.reply_to
    deleted = message.deleted_at is not None
    return {
        "type": "message",
        "id": message.pk,
        "room": message.room_id,
        "prev_id": message.prev_id,
        "client_id": str(message.client_id) if message.client_id else None,
        "kind": message.kind,
        "author": _author(message.author),
        "text": "" if deleted else message.text,
        "event": message.event or None,
        "created_at": message.created_at.isoformat(),
        "edited_at": message.edited_at.isoformat() if message.edited_at else None,
        "deleted_at": message.deleted_at.isoformat() if deleted else None,
        # Until when its author may change it (rules.message_editable_until): the page offers
        # Edit and Delete until then, and asks the server, which decides, when they are used.
        "editable_until": (
            rules.message_editable_until(message).isoformat()
            if message.is_text and not deleted
            else None
        ),
        "reply_to": (
            {
                "id": reply.pk,
                "author": _author(reply.author),
                "text": "" if reply.deleted_at else reply.text[:200],
            }
            if reply is not None
            else None
        ),
        "attachments": []
        if deleted
        else [
            {
                "id": str(attachment.pk),
                "name": attachment.original_name,
                "size": attachment.size,
                "is_image": attachment.is_image,
                "url": attachment_url(attachment),
                # A picture's small forms, made once on upload: the chat shows the thumbnail
                # and opens the preview; a file that is no picture has neither.
                "thumbnail_url": (
                    attachment_url(attachment) + "?thumbnail=1"
                    if attachment.is_image and attachment.thumbnail
                    else None
                ),
                "preview_url": (
                    attachment_url(attachment) + "?preview=1"
                    if attachment.is_image and attachment.preview
                    else None
                ),
            }
            for attachment in message.attachments.all()
        ],
        "mentions": [mention.person_id for mention in message.mentions.all()],
    }


def _messages(room: Room) -> QuerySet[Message]:
    return (
        Message.objects.filter(room=room)
        .select_related("author__department", "reply_to__author")
        .prefetch_related("attachments", "mentions")
    )


def messages_after(room: Room, after_id: int, limit: int = 500) -> list[Message]:
    """What a client that has everything up to `after_id` missed, oldest first."""
    return list(_messages(room).filter(id__gt=after_id).order_by("id")[:limit])


def room_of(*, incident=None, problem_group=None) -> Room | None:
    """The room of an incident or a problem group, if anyone opened it yet (a read: creates
    nothing; `services.room_for` creates it)."""
    if incident is not None:
        return Room.objects.filter(kind=RoomKind.INCIDENT, incident_id=incident.pk).first()
    return Room.objects.filter(
        kind=RoomKind.PROBLEM_GROUP, problem_group_id=problem_group.pk
    ).first()


def messages_before(room: Room, before_id: int | None = None, limit: int = PAGE_SIZE):
    """The `limit` messages before `before_id` (the newest when None), oldest first, and
    whether there are older ones: cursor pagination, never an offset."""
    queryset = _messages(room)
    if before_id is not None:
        queryset = queryset.filter(id__lt=before_id)
    page = list(queryset.order_by("-id")[: limit + 1])
    more = len(page) > limit
    return list(reversed(page[:limit])), more


def room_members(room: Room) -> list[dict]:
    """Everyone who opened the room, who of them is online now first."""
    cutoff = timezone.now() - timedelta(seconds=PRESENCE_TIMEOUT)
    present = Presence.objects.filter(room=room, seen_at__gte=cutoff)
    # A connection held by a process whose heartbeat lapsed is gone, however lately it beat
    # (when which processes are alive cannot be told, seen_at alone decides).
    alive = processes.alive_keys()
    if alive is not None:
        present = present.filter(Q(process="") | Q(process__in=sorted(alive)))
    online = set(present.values_list("person_id", flat=True))
    members = RoomMember.objects.filter(room=room).select_related("person__department")
    people = [
        {**_author(member.person), "online": member.person_id in online}
        for member in members
        if member.person.is_active
    ]
    return sorted(people, key=lambda person: (not person["online"], person["name"]))


def _unread(user) -> QuerySet[Message]:
    """Messages by others, in rooms the person opened, after what they have read (one join:
    the membership's conditions in one filter() call name the same membership row). System
    lines are not discussion: what they tell reaches people as notifications already."""
    unread = (
        Message.objects.filter(room__members__person=user, id__gt=F("room__members__last_read_id"))
        .filter(deleted_at__isnull=True, kind=MessageKind.TEXT)
        .exclude(author=user)
    )
    return readable_messages(unread, user)


def unread_count(user, *, for_badge: bool = False) -> int:
    """The messages `user` has not read; for the sidebar's badge, counted no further than its
    cap."""
    if not (user and user.is_authenticated):
        return 0
    unread = _unread(user)
    return counted_up_to(unread) if for_badge else unread.count()


def unread_by_incident(user, incident_ids) -> dict[int, int]:
    """Unread messages for `user` in the rooms of these incidents."""
    if not (user and user.is_authenticated):
        return {}
    rows = (
        _unread(user)
        .filter(room__incident_id__in=list(incident_ids))
        .values("room__incident_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["room__incident_id"]: row["n"] for row in rows}


def unread_incident_ids(user) -> QuerySet:
    """The incidents whose rooms hold messages `user` has not read, as a subquery of ids."""
    if not (user and user.is_authenticated):
        return Room.objects.none().values("incident_id")
    return _unread(user).filter(room__kind=RoomKind.INCIDENT).values("room__incident_id")


def message_revisions(message: Message, reader) -> list[dict]:
    """What the message said before each edit, oldest first, with who and when. Once it is
    deleted, everyone sees that and when, and its earlier texts are kept for its author and
    administrators only (the audit trail): the author took them back from the room."""
    hidden = not access.may_read_taken_back(message, reader)
    return [
        {
            "kind": revision.kind,
            "text": "" if hidden else revision.text,
            "by": _author(revision.by),
            "at": revision.created_at.isoformat(),
        }
        for revision in message.revisions.select_related("by__department")
    ]


def incident_evidence(incident_id: int) -> QuerySet[Evidence]:
    """What was marked as evidence in the incident's room, newest first."""
    return Evidence.objects.filter(incident_id=incident_id).select_related(
        "message__author__department", "attachment", "marked_by"
    )


def evidence_by_incident(incident_ids) -> dict[int, list[Evidence]]:
    """What was marked as evidence in the rooms of these incidents, newest first, by incident
    (one query)."""
    found: dict[int, list[Evidence]] = {}
    marks = Evidence.objects.filter(incident_id__in=list(incident_ids)).select_related(
        "message__author__department", "attachment", "marked_by"
    )
    for mark in marks:
        found.setdefault(mark.incident_id, []).append(mark)
    return found


def chat_limits() -> dict:
    return {
        "max_chars": settings.CHAT_MESSAGE_MAX_CHARS,
        "edit_seconds": settings.CHAT_EDIT_WINDOW_SECONDS,
        "page_size": PAGE_SIZE,
    }


def open_rooms_of_projects(projects) -> list[int]:
    """The rooms of these projects' incidents that someone has open now (as their sockets
    keep their presence): whom a change of the projects' restrictions may concern."""
    keys = sorted({project_key(project) for project in projects})
    if not keys:
        return []
    rows = Presence.objects.filter(
        room__incident__device__project_key__in=keys, room__kind=RoomKind.INCIDENT
    )
    return sorted(set(rows.values_list("room_id", flat=True)))
