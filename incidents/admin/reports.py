"""Downloads of the failure-analysis report of an incident or a problem group, and of a problem
group's 8D report (incidents.reports), for whoever may see it, in their language. An incident's
own report is made in the request; a group's report and its 8D PDF are asked for with a POST and
made in the background (incidents.services.report_jobs), downloaded from their job's page."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from config.kit.ids import pk_or_404
from incidents import access, reports
from incidents.models import Incident, ProblemGroup
from incidents.services import report_jobs
from incidents.services.errors import WorkflowError

PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {"pdf": (PDF, reports.report_pdf), "xlsx": (XLSX, reports.report_xlsx)}
# A group's report is made in the background (incidents.services.report_jobs).
GROUP_FORMATS = ("pdf", "xlsx")
EIGHTD_FORMATS = {
    "pdf": (PDF, reports.eightd_report_pdf),
    "xlsx": (XLSX, reports.eightd_report_xlsx),
}


def _download(content: bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


def incident_report_view(request: HttpRequest, incident_id: str, kind: str) -> HttpResponse:
    if kind not in FORMATS:
        raise Http404
    incident = access.incident_for(
        request.user,
        pk_or_404(incident_id),
        Incident.objects.select_related("device", "reporter", "reported_by_token", "problem_group"),
    )
    content_type, render = FORMATS[kind]
    return _download(
        render(reports.incident_report(incident)),
        content_type,
        f"FA-report-{incident.pk}-{incident.device.serial_number}.{kind}",
    )


def _visible_group(request: HttpRequest, group_id: str) -> ProblemGroup:
    group = get_object_or_404(ProblemGroup.objects.select_related("owner"), pk=pk_or_404(group_id))
    if not admin.site.get_model_admin(ProblemGroup).has_view_permission(request, group):
        raise PermissionDenied
    return group


def _queued(request: HttpRequest, group: ProblemGroup, start) -> HttpResponse:
    """Ask for a group's report made in the background (a POST: asking makes a job) and go to
    its page; a GET (an old link) goes back to the group's page, where the buttons are."""
    if request.method != "POST":
        messages.info(
            request,
            _(
                "A problem group's reports are made in the background: press the report's "
                "button on this page, then download it from its page when it is ready."
            ),
        )
        return HttpResponseRedirect(reverse("admin:incidents_problemgroup_change", args=[group.pk]))
    try:
        job = start()
    except WorkflowError as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(reverse("admin:incidents_problemgroup_change", args=[group.pk]))
    return HttpResponseRedirect(reverse("admin:incidents_reportjob_change", args=[job.pk]))


def problem_group_report_view(request: HttpRequest, group_id: str, kind: str) -> HttpResponse:
    """The report of a problem group: every incident in it, for whoever may see the group,
    made in the background (a group may hold thousands of incidents)."""
    if kind not in GROUP_FORMATS:
        raise Http404
    group = _visible_group(request, group_id)
    return _queued(
        request,
        group,
        lambda: report_jobs.group_report_start(group=group, file_format=kind, by=request.user),
    )


def eightd_report_view(request: HttpRequest, group_id: str, kind: str) -> HttpResponse:
    """A problem group's 8D report, for whoever may see the group and read 8D reports."""
    if kind not in EIGHTD_FORMATS:
        raise Http404
    group = _visible_group(request, group_id)
    if not (
        request.user.has_perm("incidents.view_eightd")
        or request.user.has_perm("incidents.change_eightd")
    ):
        raise PermissionDenied
    if kind == "pdf":
        # Rendered in the background; the workbook is one row per incident, made at once.
        return _queued(
            request, group, lambda: report_jobs.eightd_report_start(group=group, by=request.user)
        )
    content_type, render = EIGHTD_FORMATS[kind]
    return _download(
        render(reports.eightd_report(group, request.user)),
        content_type,
        f"8D-report-{group.number}.{kind}",
    )
