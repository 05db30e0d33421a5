"""Downloads of an incident's failure-analysis report (incidents.reports), for whoever may see
the incident, in their language."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header

from config.ids import pk_or_404
from incidents import reports
from incidents.models import Incident

FORMATS = {
    "pdf": ("application/pdf", reports.report_pdf),
    "xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        reports.report_xlsx,
    ),
}


def incident_report_view(request: HttpRequest, incident_id: str, kind: str) -> HttpResponse:
    if kind not in FORMATS:
        raise Http404
    incident = get_object_or_404(
        Incident.objects.select_related("device", "reporter", "problem_group"),
        pk=pk_or_404(incident_id),
    )
    if not admin.site.get_model_admin(Incident).has_view_permission(request, incident):
        raise PermissionDenied
    content_type, render = FORMATS[kind]
    response = HttpResponse(render(reports.incident_report(incident)), content_type=content_type)
    name = f"FA-report-{incident.pk}-{incident.device.serial_number}.{kind}"
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response
