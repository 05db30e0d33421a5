"""The chat's HTTP end, beside its WebSocket: older messages by cursor, sending with files,
editing, deleting, evidence, what one has read, whom one can @mention, and the files
themselves (only to people who may see the room)."""

import uuid
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from config.kit.uploads import SMALL_PICTURE_TYPES, refused_uploads
from incidents import access
from incidents.models import Employee, ProblemGroup
from messaging import selectors, services
from messaging.choices import RoomKind
from messaging.models import Message, MessageAttachment, Room

# Refusals of the person's sending budget (messaging.limits) and of a message mentioning too many.
LIMITED = {"rate_limited", "too_many_mentions"}


def _error(error: services.ChatError, status: int = 400) -> JsonResponse:
    return JsonResponse(
        {"type": "error", "code": error.code, "message": str(error.message)}, status=status
    )


def _room(request: HttpRequest, kind: str, subject_id: int, *, create: bool = True) -> Room:
    """The room of a subject the person may see (created on first use); 404/403 otherwise.
    A read (`create=False`) never writes: a room nobody opened yet is an unsaved, empty one."""
    if kind == RoomKind.INCIDENT:
        subject = access.incident_for(request.user, subject_id)
    else:
        subject = ProblemGroup.objects.filter(pk=subject_id).first()
        if subject is None:
            raise Http404
        if not access.may_see_subject(subject, request.user):
            raise PermissionDenied
    key = "incident" if kind == RoomKind.INCIDENT else "problem_group"
    if create:
        return services.room_for(**{key: subject})
    return selectors.room_of(**{key: subject}) or Room(kind=kind, **{key: subject})


def _message(request: HttpRequest, message_id: int) -> Message:
    message = get_object_or_404(Message.objects.select_related("room"), pk=message_id)
    if not selectors.can_see_room(message.room, request.user):
        raise PermissionDenied
    return message


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _ids(values: list[str]) -> list[int]:
    """Ids as a form sends them (a message replied to, people mentioned); anything else is
    refused, as the socket refuses a frame with them."""
    ids = [_int(value) for value in values]
    if None in ids:
        raise services.ChatError("bad_request", _("A reply or a mention names its id."))
    return ids


@require_GET
def room_messages(request: HttpRequest, kind: str, subject_id: int) -> JsonResponse:
    """The 50 messages before `before` (the newest without it), oldest first."""
    room = _room(request, kind, subject_id, create=False)
    if room.pk is None:
        return JsonResponse({"room": None, "messages": [], "more": False, "last_id": None})
    page, more = selectors.messages_before(room, _int(request.GET.get("before")))
    return JsonResponse(
        {
            "room": room.pk,
            "messages": [selectors.message_frame(message) for message in page],
            "more": more,
            "last_id": room.last_message_id,
        }
    )


@require_POST
def room_send(request: HttpRequest, kind: str, subject_id: int) -> JsonResponse:
    """A message with files (pasted or dropped): the same service as the socket's `send`."""
    room = _room(request, kind, subject_id)
    too_large = refused_uploads(request)
    if too_large:
        message = too_large[0].message(settings.ATTACHMENT_MAX_BYTES)
        return _error(services.ChatError("too_large", message), status=413)
    try:
        reply_to = request.POST.get("reply_to") or None
        message, _created = services.message_send(
            room=room,
            author=request.user,
            text=request.POST.get("text", ""),
            client_id=request.POST.get("client_id") or None,
            reply_to=_ids([reply_to])[0] if reply_to else None,
            mentions=_ids(request.POST.getlist("mentions")),
            files=request.FILES.getlist("files"),
            spend_budget=True,
        )
    except services.ChatError as error:
        return _error(error, status=429 if error.code in LIMITED else 400)
    return JsonResponse({"message": selectors.message_frame(message)})


@require_POST
def room_read(request: HttpRequest, kind: str, subject_id: int) -> JsonResponse:
    room = _room(request, kind, subject_id)
    services.room_join(room=room, person=request.user)
    services.room_mark_read(
        room=room, person=request.user, up_to=_int(request.POST.get("up_to"), 0)
    )
    return JsonResponse({"unread": selectors.unread_count(request.user)})


@require_GET
def room_people(request: HttpRequest, kind: str, subject_id: int) -> JsonResponse:
    """Whom one can @mention here: active people who may see the room, best matches first."""
    room = _room(request, kind, subject_id, create=False)
    query = (request.GET.get("q") or "").strip()[:50]
    people = access.people_seeing_subject(
        Employee.objects.select_related("department"), selectors.room_subject(room)
    )
    if query:
        people = people.filter(
            Q(display_name__icontains=query)
            | Q(username__istartswith=query)
            | Q(employee_number__istartswith=query)
        )
    members = set(room.members.values_list("person_id", flat=True)) if room.pk else set()
    found = [
        {
            "id": person.pk,
            "name": person.get_full_name(),
            "department": (person.department.localized_name if person.department else ""),
            "department_id": person.department_id,
            "member": person.pk in members,
        }
        for person in people.order_by("display_name", "pk")[:10]
    ]
    found.sort(key=lambda p: not p["member"])
    return JsonResponse({"people": found})


@require_POST
def message_edit(request: HttpRequest, message_id: int) -> JsonResponse:
    message = _message(request, message_id)
    try:
        message = services.message_edit(
            message=message, by=request.user, text=request.POST.get("text", "")
        )
    except services.ChatError as error:
        return _error(error, status=403 if error.code == "forbidden" else 400)
    return JsonResponse({"message": selectors.message_frame(message)})


@require_POST
def message_delete(request: HttpRequest, message_id: int) -> JsonResponse:
    message = _message(request, message_id)
    try:
        message = services.message_delete(message=message, by=request.user)
    except services.ChatError as error:
        return _error(error, status=403 if error.code == "forbidden" else 400)
    return JsonResponse({"message": selectors.message_frame(message)})


@require_GET
def message_revisions(request: HttpRequest, message_id: int) -> JsonResponse:
    """What an edited or deleted message said before: nothing is silently removed."""
    message = _message(request, message_id)
    return JsonResponse({"revisions": selectors.message_revisions(message, request.user)})


@require_POST
def message_evidence(request: HttpRequest, message_id: int) -> JsonResponse:
    message = _message(request, message_id)
    attachment = None
    if request.POST.get("attachment"):
        attachment = MessageAttachment.objects.filter(
            pk=request.POST["attachment"] if _is_uuid(request.POST["attachment"]) else None,
            message=message,
        ).first()
        if attachment is None:
            raise Http404
    try:
        evidence = services.evidence_mark(message=message, by=request.user, attachment=attachment)
    except services.ChatError as error:
        return _error(error, status=403 if error.code == "forbidden" else 400)
    return JsonResponse({"evidence": evidence.pk, "stage": evidence.stage})


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


@require_GET
def attachment_download(request: HttpRequest, attachment_id) -> FileResponse:
    """A chat file, by unguessable id, only to people who may see its room. `?thumbnail=1`
    and `?preview=1` ask for a picture's small forms, made once on upload: a picture is never
    shown by decoding its original again (a picture without them is not found); any other
    file is served itself, as a download."""
    attachment = get_object_or_404(
        MessageAttachment.objects.select_related("message__room"), pk=attachment_id
    )
    if not selectors.can_see_room(attachment.message.room, request.user):
        raise PermissionDenied
    if attachment.message.deleted_at is not None:
        raise Http404
    stored, content_type = attachment.file, attachment.content_type
    small = next((key for key in ("thumbnail", "preview") if request.GET.get(key) == "1"), None)
    if small is not None and attachment.is_image:
        stored = getattr(attachment, small)
        if not stored:
            raise Http404
        content_type = SMALL_PICTURE_TYPES.get(PurePath(stored.name).suffix, "image/png")
    try:
        content = stored.open("rb")
    except FileNotFoundError:  # its file was lost (a restore without the media): nothing to serve
        raise Http404 from None
    response = FileResponse(
        content,
        as_attachment=not attachment.is_image,
        filename=attachment.original_name,
        content_type=content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
