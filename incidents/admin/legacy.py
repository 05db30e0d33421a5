"""Legacy workbook import in the admin: upload → dry-run report → confirm → import, with the
progress of both shown while a background worker runs them, and a failed run started again."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django_tasks_db import admin as task_queue_admin
from unfold.admin import ModelAdmin
from unfold.decorators import display

from config.kit.lists import SingleCountListMixin
from config.kit.search import BoundedSearchMixin
from config.kit.uploads import refused_uploads
from config.kit.widgets import DropFileInput
from incidents import services
from incidents.legacy.columns import SHEET_LABELS, SHEET_ORDER
from incidents.models import LegacyImport
from incidents.services.legacy import (
    RUNNING,
    legacy_import_confirm,
    legacy_import_fail_stalled,
    legacy_import_progress,
    legacy_import_retry,
    legacy_import_start,
    legacy_import_waiting,
)

# The queue's own admin page (raw task rows, a plain page outside the product's roles) is not
# offered: an import is followed on its job page. Imported here first so that the admin's
# autodiscovery, finding the module already loaded, does not register it again.
admin.site.unregister(task_queue_admin.DBTaskResult)


class UploadForm(forms.Form):
    workbook = forms.FileField(
        label=_("Legacy workbook (.xlsx)"),
        widget=DropFileInput(attrs={"accept": ".xlsx"}),
        help_text=_(
            "The sheets 员工, 位置, 异常设备登记 and 位置变更记录 (found by name or by their "
            "headers). It is checked first; nothing is imported until you confirm."
        ),
    )


@admin.register(LegacyImport)
class LegacyImportAdmin(BoundedSearchMixin, SingleCountListMixin, ModelAdmin):
    list_display = ["original_name", "status_label", "created_by", "created_at", "finished_at"]
    list_display_links = ["original_name"]
    list_filter = ["status"]
    search_fields = ["original_name"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        return [
            path(
                "<uuid:job_id>/status/",
                self.admin_site.admin_view(self.status_view),
                name="incidents_legacyimport_status",
            ),
            path(
                "<uuid:job_id>/confirm/",
                self.admin_site.admin_view(self.confirm_view),
                name="incidents_legacyimport_confirm",
            ),
            path(
                "<uuid:job_id>/retry/",
                self.admin_site.admin_view(self.retry_view),
                name="incidents_legacyimport_retry",
            ),
            *super().get_urls(),
        ]

    def header_parts(self, context) -> list:
        """Settings > Import legacy workbook > the file, named as it was uploaded (Unfold's
        header capitalises it: "Legacy300.xlsx")."""
        parts = [
            (_("Settings"), None),
            (_("Import legacy workbook"), reverse("admin:incidents_legacyimport_changelist")),
        ]
        job = context.get("job")
        if job is not None:
            parts.append((job.original_name, None))
        return parts

    def _context(self, request, title, **extra):
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            **extra,
        }

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            return super().add_view(request, form_url, extra_context)
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST":
            # A workbook over the upload limit was dropped while it streamed in: say so.
            for upload in refused_uploads(request):
                form.add_error("workbook", upload.message(settings.LEGACY_IMPORT_MAX_BYTES))
        if request.method == "POST" and form.is_valid():
            try:
                job = legacy_import_start(upload=form.cleaned_data["workbook"], by=request.user)
            except services.WorkflowError as error:
                form.add_error("workbook", error.message)
            else:
                return HttpResponseRedirect(
                    reverse("admin:incidents_legacyimport_change", args=[job.pk])
                )
        context = self._context(
            request,
            _("Import a legacy workbook"),
            form=form,
            max_bytes=settings.LEGACY_IMPORT_MAX_BYTES,
        )
        return TemplateResponse(request, "incidents/legacy_import_upload.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        try:
            job = LegacyImport.objects.get(pk=object_id)
        except (LegacyImport.DoesNotExist, ValidationError):
            # "abc" or "-1" is no job's id, as a job that does not exist.
            raise Http404 from None
        if not self.has_view_permission(request, job):
            return super().change_view(request, object_id, form_url, extra_context)
        legacy_import_fail_stalled(job=job)
        context = self._context(
            request,
            str(job),
            job=job,
            original=job,
            sheets=sheets_in_words(job.report or job.dry_run_report),
            status_url=reverse("admin:incidents_legacyimport_status", args=[job.pk]),
            confirm_url=reverse("admin:incidents_legacyimport_confirm", args=[job.pk]),
            retry_url=reverse("admin:incidents_legacyimport_retry", args=[job.pk]),
            running=job.status in RUNNING,
            retries_import=bool(job.dry_run_report.get("ok")),
        )
        return TemplateResponse(request, "incidents/legacy_import_job.html", context)

    def status_view(self, request, job_id):
        job = get_object_or_404(LegacyImport, pk=job_id)
        if not self.has_view_permission(request, job):
            return JsonResponse({}, status=403)
        legacy_import_fail_stalled(job=job)
        return JsonResponse(
            {
                "status": job.status,
                "status_label": str(job.get_status_display()),
                "running": job.status in RUNNING,
                "waiting": legacy_import_waiting(job),
                "progress": legacy_import_progress(job),
                **progress_in_words(legacy_import_progress(job)),
            }
        )

    def changelist_view(self, request, extra_context=None):
        if self.has_view_permission(request):
            legacy_import_fail_stalled()
        return super().changelist_view(request, extra_context)

    def _job_action(self, request, job_id, service):
        """Confirm or start again: a POST by someone who may import, then back to the job."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        job = get_object_or_404(LegacyImport, pk=job_id)
        if request.method == "POST":
            try:
                service(job=job, by=request.user)
            except services.WorkflowError as error:
                messages.error(request, error.message)
        return HttpResponseRedirect(reverse("admin:incidents_legacyimport_change", args=[job.pk]))

    def confirm_view(self, request, job_id):
        # The changes to people the check listed are made only when ticked on the job page.
        people = request.POST.get("people") == "confirm"
        return self._job_action(
            request, job_id, lambda **kwargs: legacy_import_confirm(**kwargs, people=people)
        )

    def retry_view(self, request, job_id):
        return self._job_action(request, job_id, legacy_import_retry)

    @display(description=_("status"), ordering="status")
    def status_label(self, job: LegacyImport) -> str:
        return job.get_status_display()


def progress_in_words(progress: dict) -> dict:
    """How far a job is over the whole workbook (its sheets are read, then written, in
    SHEET_ORDER) as a percentage, and the sheet at hand in the reader's words."""
    kind, total = progress.get("kind"), progress.get("total") or 0
    if kind not in SHEET_ORDER or not total:
        return {"percent": None, "text": ""}
    done = min(max(progress.get("done") or 0, 0), total)
    percent = round(100 * (SHEET_ORDER.index(kind) + done / total) / len(SHEET_ORDER))
    words = {"sheet": SHEET_LABELS[kind], "done": done, "total": total}
    if progress.get("phase") == "import":
        text = _("Importing %(sheet)s: %(done)s of %(total)s rows") % words
    else:
        text = _("Checking %(sheet)s: %(done)s of %(total)s rows") % words
    return {"percent": percent, "text": str(text)}


def sheets_in_words(report: dict) -> list[dict]:
    """The report's sheets, each named in the reader's words (the workbook's own name beside
    it); for a workbook with problems, nothing would be created or changed."""
    return [
        {**sheet, "label": SHEET_LABELS.get(sheet.get("kind"), sheet.get("title", ""))}
        for sheet in (report or {}).get("sheets", [])
    ]
