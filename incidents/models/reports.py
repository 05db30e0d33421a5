"""Report jobs: a report or an export too large to make inside a request (a problem group's
report, its 8D report as PDF, a list export of thousands of rows), made by the background
worker for the person who asked, kept for them to download for a while, then removed."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ReportJobStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting for the background worker")
    RUNNING = "running", _("Being made")
    DONE = "done", _("Ready to download")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Removed after the retention period")


class ReportJobKind(models.TextChoices):
    GROUP_REPORT = "group_report", _("Failure-analysis report of a problem group")
    EIGHTD = "eightd", _("8D report")
    EXPORT = "export", _("List export")


class ReportJob(models.Model):
    """One report or export asked for by one person, made in the background."""

    OPEN = (ReportJobStatus.QUEUED, ReportJobStatus.RUNNING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=ReportJobKind.choices)
    file_format = models.CharField(_("format"), max_length=8)
    title = models.CharField(_("report"), max_length=255)
    created_by = models.ForeignKey(
        "incidents.Employee",
        on_delete=models.CASCADE,
        related_name="report_jobs",
        verbose_name=_("asked for by"),
    )
    problem_group = models.ForeignKey(
        "incidents.ProblemGroup",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="report_jobs",
        verbose_name=_("problem group"),
    )
    # What an export is of: the list's model, the chosen resource and fields, the rows' ids.
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    language = models.CharField(_("language"), max_length=16, default=settings.LANGUAGE_CODE)
    status = models.CharField(
        _("status"), max_length=16, choices=ReportJobStatus.choices, default=ReportJobStatus.QUEUED
    )
    done = models.PositiveIntegerField(_("done"), default=0)
    total = models.PositiveIntegerField(_("total"), default=0)
    created_at = models.DateTimeField(_("asked for at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("removed after"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of the worker"), null=True, blank=True)
    file = models.FileField(_("file"), upload_to="report-jobs/%Y/%m/", blank=True)
    file_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    error = models.TextField(_("why it failed"), blank=True)
    task_id = models.CharField(_("background task"), max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("report")
        verbose_name_plural = _("my reports")
        indexes = [
            models.Index(fields=["created_by", "-created_at"], name="reportjob_person_idx"),
            models.Index(fields=["status", "expires_at"], name="reportjob_status_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def percent(self) -> int:
        if self.status == ReportJobStatus.DONE:
            return 100
        return min(100, round(100 * self.done / self.total)) if self.total else 0

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN
