from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from incidents.models.records import StoredFile
from locations.visibility import ProjectRowsManager
from messaging.choices import MessageKind, RevisionKind, RoomKind
from messaging.fields import SearchVectorField


class Room(models.Model):
    """The discussion of one incident or one problem group, created on first use."""

    project_path = "incident__device__project"
    outlives_incident = "incident_id"

    kind = models.CharField(_("kind"), max_length=16, choices=RoomKind.choices)
    incident = models.OneToOneField(
        "incidents.Incident",
        on_delete=models.DO_NOTHING,
        db_constraint=False,  # a room outlives a deleted incident, like its timeline
        null=True,
        blank=True,
        related_name="room",
        verbose_name=_("incident"),
    )
    problem_group = models.OneToOneField(
        "incidents.ProblemGroup",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="room",
        verbose_name=_("problem group"),
    )
    # The newest message: each new one points back to it, so a gap is seen at once.
    last_message_id = models.BigIntegerField(_("last message"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = ProjectRowsManager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("chat room")
        verbose_name_plural = _("chat rooms")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind=RoomKind.INCIDENT, incident__isnull=False, problem_group__isnull=True)
                    | Q(
                        kind=RoomKind.PROBLEM_GROUP,
                        incident__isnull=True,
                        problem_group__isnull=False,
                    )
                ),
                name="room_has_exactly_its_subject",
                violation_error_message=_(
                    "A room belongs to exactly one incident or one problem group."
                ),
            ),
        ]

    def __str__(self) -> str:
        # Its subject only: pages and messages name the model ("chat room") before it.
        if self.kind == RoomKind.INCIDENT:
            return _("Incident #%(id)s") % {"id": self.incident_id}
        return _("Problem group %(group)s") % {"group": self.problem_group}

    @property
    def subject_id(self) -> int:
        return self.incident_id if self.kind == RoomKind.INCIDENT else self.problem_group_id


class Message(models.Model):
    """One line of a room: what a person wrote (with files), or what the system noted."""

    project_path = "room__incident__device__project"
    outlives_incident = "room__incident_id"

    id = models.BigAutoField(primary_key=True)
    room = models.ForeignKey(
        "messaging.Room", on_delete=models.CASCADE, related_name="messages", verbose_name=_("room")
    )
    kind = models.CharField(
        _("kind"), max_length=16, choices=MessageKind.choices, default=MessageKind.TEXT
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="chat_messages",
        verbose_name=_("author"),
    )
    text = models.TextField(_("text"), blank=True)
    # System lines: {"code": "...", ...parameters}; shown in the reader's language.
    event = models.JSONField(_("event"), default=dict, blank=True)
    # Chosen by the sending client: sending the same one twice stores one message.
    client_id = models.UUIDField(_("client id"), null=True, blank=True)
    reply_to = models.ForeignKey(
        "messaging.Message",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replies",
        verbose_name=_("reply to"),
    )
    prev_id = models.BigIntegerField(_("previous message"), null=True, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)
    edited_at = models.DateTimeField(_("edited at"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)
    search_vector = SearchVectorField(_("search vector"), null=True, blank=True, editable=False)

    objects = ProjectRowsManager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [models.Index(fields=["room", "id"], name="message_room_id_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["room", "client_id"],
                condition=Q(client_id__isnull=False),
                name="message_client_id_unique_in_room",
                violation_error_message=_("This message was sent already."),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.text[:60]}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_text(self) -> bool:
        """Written by a person (not a system line)."""
        return self.kind == MessageKind.TEXT


class MessageRevision(models.Model):
    """What a message said before its author edited or deleted it: the visible trace."""

    message = models.ForeignKey(
        "messaging.Message",
        on_delete=models.CASCADE,
        related_name="revisions",
        verbose_name=_("message"),
    )
    kind = models.CharField(_("kind"), max_length=8, choices=RevisionKind.choices)
    text = models.TextField(_("text before"), blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("message revision")
        verbose_name_plural = _("message revisions")

    def __str__(self) -> str:
        at = date_format(timezone.localtime(self.created_at), "SHORT_DATETIME_FORMAT")
        return f"{self.get_kind_display()} · {at}"


def chat_file_path(attachment: "MessageAttachment", filename: str) -> str:
    """A random name under chat/: the uploader's file name never reaches the disk."""
    suffix = PurePath(filename).suffix.lower()
    return f"chat/{attachment.created_at:%Y/%m}/{attachment.id.hex}{suffix}"


def chat_thumbnail_path(attachment: "MessageAttachment", filename: str) -> str:
    return f"chat/{attachment.created_at:%Y/%m}/{attachment.id.hex}.thumb.png"


def chat_preview_path(attachment: "MessageAttachment", filename: str) -> str:
    """The preview beside its original: `<id>.preview.png` or `.jpg`."""
    suffix = PurePath(filename).suffix.lower()
    return f"chat/{attachment.created_at:%Y/%m}/{attachment.id.hex}.preview{suffix}"


class MessageAttachment(StoredFile):
    """A file or picture pasted or dropped into the chat.

    A picture (a bitmap verified on upload, within the pixel budget) is decoded once, on upload,
    into its preview (at most PREVIEW_LONG_SIDE pixels on its long side), and its thumbnail is
    made from that preview: the chat shows both, reports embed the preview, and nothing ever
    decodes the original again."""

    project_path = "message__room__incident__device__project"
    outlives_incident = "message__room__incident_id"

    message = models.ForeignKey(
        "messaging.Message",
        on_delete=models.CASCADE,
        related_name="attachments",
        verbose_name=_("message"),
    )
    file = models.FileField(_("file"), upload_to=chat_file_path, max_length=255)
    thumbnail = models.FileField(
        _("thumbnail"), upload_to=chat_thumbnail_path, max_length=255, blank=True
    )
    preview = models.FileField(
        _("preview"), upload_to=chat_preview_path, max_length=255, blank=True
    )

    objects = ProjectRowsManager()

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("chat attachment")
        verbose_name_plural = _("chat attachments")


class Mention(models.Model):
    """A person called by @name in a message; they are notified."""

    message = models.ForeignKey(
        "messaging.Message",
        on_delete=models.CASCADE,
        related_name="mentions",
        verbose_name=_("message"),
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="chat_mentions",
        verbose_name=_("person"),
    )

    class Meta:
        ordering = ["message", "person"]
        verbose_name = _("mention")
        verbose_name_plural = _("mentions")
        constraints = [
            models.UniqueConstraint(
                fields=["message", "person"],
                name="mention_once_per_message",
                violation_error_message=_("This person is mentioned already."),
            )
        ]

    def __str__(self) -> str:
        return f"@{self.person} · #{self.message_id}"


class Evidence(models.Model):
    """A message, or one of its pictures or files, kept with a stage's records."""

    project_path = "incident__device__project"
    outlives_incident = "incident_id"

    message = models.ForeignKey(
        "messaging.Message",
        on_delete=models.CASCADE,
        related_name="evidence",
        verbose_name=_("message"),
    )
    attachment = models.ForeignKey(
        "messaging.MessageAttachment",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="evidence",
        verbose_name=_("file"),
    )
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="chat_evidence",
        verbose_name=_("incident"),
    )
    stage = models.CharField(_("stage"), max_length=32)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("marked by"),
    )
    marked_at = models.DateTimeField(_("marked at"), default=timezone.now)

    objects = ProjectRowsManager()

    class Meta:
        ordering = ["-marked_at", "-id"]
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        constraints = [
            models.UniqueConstraint(
                fields=["message", "attachment"],
                name="evidence_once",
                nulls_distinct=False,
                violation_error_message=_("This is marked as evidence already."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.stage} · #{self.message_id}"

    @property
    def edited_after_marking(self) -> bool:
        """Whether the message changed after it was marked (only before marking froze it)."""
        edited = self.message.edited_at
        return edited is not None and edited > self.marked_at

    @property
    def marked_text(self) -> str:
        """The message's text as it was when it was marked: what the evidence is."""
        if not self.edited_after_marking:
            return self.message.text
        first_later_edit = (
            self.message.revisions.filter(kind=RevisionKind.EDIT, created_at__gt=self.marked_at)
            .order_by("created_at", "id")
            .first()
        )
        return first_later_edit.text if first_later_edit else self.message.text


class RoomMember(models.Model):
    """Someone who opened the room: listed as a member, with what they have read."""

    room = models.ForeignKey(
        "messaging.Room", on_delete=models.CASCADE, related_name="members", verbose_name=_("room")
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="chat_memberships",
        verbose_name=_("person"),
    )
    joined_at = models.DateTimeField(_("joined at"), default=timezone.now)
    last_read_id = models.BigIntegerField(_("read up to"), default=0)

    class Meta:
        ordering = ["room", "joined_at"]
        verbose_name = _("room member")
        verbose_name_plural = _("room members")
        constraints = [
            models.UniqueConstraint(
                fields=["room", "person"],
                name="room_member_once",
                violation_error_message=_("This person is a member already."),
            )
        ]
        indexes = [models.Index(fields=["person", "room"], name="room_member_person_idx")]

    def __str__(self) -> str:
        return f"{self.person} · {self.room}"


class Presence(models.Model):
    """One open connection to a room, refreshed while it lives: who is online now, seen by
    every app process."""

    room = models.ForeignKey(
        "messaging.Room",
        on_delete=models.CASCADE,
        related_name="presences",
        verbose_name=_("room"),
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("person"),
    )
    channel_name = models.CharField(_("connection"), max_length=200)
    # The app process holding the connection (config.kit.processes): its presences go as soon
    # as its heartbeat lapses. Empty when it has no heartbeat: then judged by seen_at alone.
    process = models.CharField(_("app process"), max_length=300, blank=True, default="")
    seen_at = models.DateTimeField(_("seen at"), default=timezone.now)

    class Meta:
        ordering = ["room", "person"]
        verbose_name = _("presence")
        verbose_name_plural = _("presences")
        indexes = [models.Index(fields=["process"], name="presence_process")]
        constraints = [
            models.UniqueConstraint(
                fields=["channel_name", "room"],
                name="presence_once_per_connection",
                violation_error_message=_("This connection is present already."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.room}"
