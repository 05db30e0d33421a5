import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _


class LegacyImportStatus(models.TextChoices):
    CHECKING = "checking", _("Checking")
    CHECKED = "checked", _("Checked, waiting for confirmation")
    INVALID = "invalid", _("Has errors; nothing imported")
    IMPORTING = "importing", _("Importing")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Failed")


class LegacyImport(models.Model):
    """One upload of a legacy workbook: its dry run, and the import once confirmed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    file = models.FileField(_("workbook"), upload_to="legacy-imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    created_by = models.ForeignKey(
        "incidents.Employee",
        on_delete=models.PROTECT,
        related_name="legacy_imports",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    language = models.CharField(
        _("language of the report"), max_length=16, default=settings.LANGUAGE_CODE
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=LegacyImportStatus.choices,
        default=LegacyImportStatus.CHECKING,
    )
    dry_run_report = models.JSONField(_("dry-run report"), default=dict, blank=True)
    report = models.JSONField(_("import report"), default=dict, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # The background run: each start (check, import, start again) is a new attempt, so a worker
    # that outlived its attempt cannot overwrite the outcome of the next one.
    attempt = models.PositiveIntegerField(_("attempt"), default=0)
    queued_at = models.DateTimeField(_("queued at"), null=True, blank=True)
    task_id = models.CharField(_("background task"), max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("legacy workbook import")
        verbose_name_plural = _("legacy workbook imports")

    def __str__(self) -> str:
        at = date_format(timezone.localtime(self.created_at), "SHORT_DATETIME_FORMAT")
        return f"{self.original_name} · {at}"
