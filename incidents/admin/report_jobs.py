"""Reports made in the background (incidents.services.report_jobs): "My reports", each report's
page with its progress, cancel and download, and the problem group's report buttons that ask
for one. Only the person who asked, and administrators, open a report or download its file;
anyone else gets "not found"."""

import uuid

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display

from config.kit.lists import SingleCountListMixin
from config.kit.spreadsheets import background_exports
from incidents import services
from incidents.models import ReportJob, ReportJobStatus
from incidents.services.report_jobs import (
    export_start,
    report_job_cancel,
    report_job_may_open,
    report_jobs_fail_stalled,
)

STATUS_COLORS = {
    ReportJobStatus.QUEUED: "info",
    ReportJobStatus.RUNNING: "info",
    ReportJobStatus.DONE: "success",
    ReportJobStatus.FAILED: "danger",
    ReportJobStatus.CANCELLED: "warning",
    ReportJobStatus.EXPIRED: "warning",
}


def job_url(job: ReportJob) -> str:
    return reverse("admin:incidents_reportjob_change", args=[job.pk])


def _job_or_404(request, job_id) -> ReportJob:
    """The job, if `request.user` may open it; "not found" for anyone else, as for no job."""
    try:
        key = uuid.UUID(str(job_id))
    except ValueError:
        raise Http404 from None
    job = ReportJob.objects.select_related("created_by", "problem_group").filter(pk=key).first()
    if job is None or not report_job_may_open(job, request.user):
        raise Http404
    return job


@admin.register(ReportJob)
class ReportJobAdmin(SingleCountListMixin, ModelAdmin):
    """My reports: the reports a person asked for, newest first, each with its state and, once
    made, its download until it is removed."""

    list_display = ["report", "status_label", "progress", "created_at", "download"]
    list_display_links = None
    list_filter = ["status"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(created_by=request.user)

    def has_module_permission(self, request) -> bool:
        # Not one of the incidents app's lists: each person reaches their own reports from the
        # sidebar, the group page and the notification. Listed, it opened the app's index to
        # people with no role, who may see none of its lists.
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        if obj is not None:
            return report_job_may_open(obj, request.user)
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        return [
            path(
                "<str:job_id>/status/",
                self.admin_site.admin_view(self.status_view),
                name="incidents_reportjob_status",
            ),
            path(
                "<str:job_id>/cancel/",
                self.admin_site.admin_view(self.cancel_view),
                name="incidents_reportjob_cancel",
            ),
            path(
                "<str:job_id>/download/",
                self.admin_site.admin_view(self.download_view),
                name="incidents_reportjob_download",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        report_jobs_fail_stalled()
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = _job_or_404(request, object_id)
        report_jobs_fail_stalled(job=job)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": job.title,
            "job": job,
            "original": job,
            "status_url": reverse("admin:incidents_reportjob_status", args=[job.pk]),
            "cancel_url": reverse("admin:incidents_reportjob_cancel", args=[job.pk]),
            "download_url": reverse("admin:incidents_reportjob_download", args=[job.pk]),
            "list_url": reverse("admin:incidents_reportjob_changelist"),
            "expires_at": job.expires_at,
        }
        return TemplateResponse(request, "admin/incidents/reportjob/job.html", context)

    def status_view(self, request, job_id):
        job = _job_or_404(request, job_id)
        report_jobs_fail_stalled(job=job)
        return JsonResponse(
            {
                "status": job.status,
                "status_label": str(job.get_status_display()),
                "open": job.is_open,
                "done": job.done,
                "total": job.total,
                "percent": job.percent,
            }
        )

    def cancel_view(self, request, job_id):
        job = _job_or_404(request, job_id)
        if request.method == "POST":
            try:
                report_job_cancel(job=job, by=request.user)
            except services.WorkflowError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, _("The report was cancelled."))
        return HttpResponseRedirect(job_url(job))

    def download_view(self, request, job_id):
        job = _job_or_404(request, job_id)
        if job.status != ReportJobStatus.DONE or not job.file:
            raise Http404
        try:
            content = job.file.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        return FileResponse(content, as_attachment=True, filename=job.file_name)

    @display(description=_("report"))
    def report(self, job: ReportJob) -> str:
        return format_html('<a class="underline" href="{}">{}</a>', job_url(job), job.title)

    @display(description=_("status"), ordering="status", label=STATUS_COLORS)
    def status_label(self, job: ReportJob):
        return job.status, job.get_status_display()

    @display(description=_("progress"))
    def progress(self, job: ReportJob) -> str:
        if job.total:
            return f"{job.percent}% · {job.done:,} / {job.total:,}"
        return "—"

    @display(description=_("download"))
    def download(self, job: ReportJob) -> str:
        if job.status != ReportJobStatus.DONE:
            return "—"
        return format_html(
            '<a class="underline font-medium" href="{}">{}</a> · {}',
            reverse("admin:incidents_reportjob_download", args=[job.pk]),
            _("Download"),
            _("until %(date)s") % {"date": date_format(job.expires_at, "SHORT_DATETIME_FORMAT")}
            if job.expires_at
            else "",
        )


def queue_export(request, *, model, file_format: str, params: dict) -> str:
    """A list export too large for the request, as a job of the person exporting: the URL of
    its page (config.kit.spreadsheets asks for it through `background_exports`)."""
    if not request.user.is_active:
        raise PermissionDenied
    job = export_start(
        by=request.user,
        model_label=model._meta.label_lower,
        verbose_name=str(model._meta.verbose_name_plural),
        file_format=file_format,
        params=params,
    )
    messages.info(
        request,
        _(
            "This export is large: it is being made in the background. You will be notified "
            "when it is ready to download."
        ),
    )
    return job_url(job)


background_exports.register(queue_export)
