import uuid
from pathlib import PurePath

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.kit.uploads import PICTURE_CONTENT_TYPES
from incidents.choices import Stage, Verdict
from locations.visibility import ProjectRowsManager


class OperationRecord(models.Model):
    """What the assignee did in a stage (retest, X-ray scan, rework…), with its attachments."""

    project_path = "incident__device__project"
    outlives_incident = "incident_id"

    # Kept when a superuser deletes the incident: the trail outlives it.
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="operation_records",
        verbose_name=_("incident"),
    )
    stage = models.CharField(_("stage"), max_length=32, choices=Stage.choices)
    round = models.PositiveSmallIntegerField(_("round"), default=1)
    action = models.CharField(_("action taken"), max_length=200)
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        "incidents.Employee",
        on_delete=models.PROTECT,
        related_name="operation_records",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    objects = ProjectRowsManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("operation record")
        verbose_name_plural = _("operation records")

    def __str__(self) -> str:
        return f"{self.get_stage_display()} · {self.action}"


def attachment_path(attachment: "Attachment", filename: str) -> str:
    """A random name under attachments/: the uploader's file name never reaches the disk."""
    suffix = PurePath(filename).suffix.lower()
    return f"attachments/{attachment.created_at:%Y/%m}/{attachment.id.hex}{suffix}"


def attachment_preview_path(attachment: "Attachment", filename: str) -> str:
    """The preview beside its original: `<id>.preview.png` or `.jpg`."""
    suffix = PurePath(filename).suffix.lower()
    return f"attachments/{attachment.created_at:%Y/%m}/{attachment.id.hex}.preview{suffix}"


class StoredFile(models.Model):
    """A file someone uploaded, kept under a random name: what it was called, how big it is,
    what it holds. Record attachments and chat attachments are both this."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    content_type = models.CharField(_("content type"), max_length=100)
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_image(self) -> bool:
        """Shown as a picture: a bitmap Pillow verified on upload (never SVG, whatever the
        name); the content type is set from the content, not the name."""
        return self.content_type in PICTURE_CONTENT_TYPES


class Attachment(StoredFile):
    """A file uploaded with an operation record: a log, a photo, an X-ray image."""

    project_path = "record__incident__device__project"
    outlives_incident = "record__incident_id"

    record = models.ForeignKey(
        "incidents.OperationRecord",
        on_delete=models.CASCADE,
        related_name="attachments",
        verbose_name=_("operation record"),
    )
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=255)
    # A picture decoded once, on upload, into this; reports embed it, never the original.
    preview = models.FileField(
        _("preview"), upload_to=attachment_preview_path, max_length=255, blank=True
    )

    objects = ProjectRowsManager()

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")


class AnalysisResult(models.Model):
    """Findings of a stage and the verdict that decides where the incident goes next."""

    project_path = "incident__device__project"
    outlives_incident = "incident_id"

    # Kept when a superuser deletes the incident: the trail outlives it.
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="analysis_results",
        verbose_name=_("incident"),
    )
    stage = models.CharField(_("stage"), max_length=32, choices=Stage.choices)
    round = models.PositiveSmallIntegerField(_("round"), default=1)
    operation_record = models.ForeignKey(
        "incidents.OperationRecord",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="analysis_results",
        verbose_name=_("based on"),
    )
    findings = models.TextField(_("findings"))
    verdict = models.CharField(_("verdict"), max_length=16, choices=Verdict.choices, blank=True)
    created_by = models.ForeignKey(
        "incidents.Employee",
        on_delete=models.PROTECT,
        related_name="analysis_results",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    objects = ProjectRowsManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("analysis result")
        verbose_name_plural = _("analysis results")

    def __str__(self) -> str:
        return f"{self.get_stage_display()} · {self.get_verdict_display() or '—'}"
