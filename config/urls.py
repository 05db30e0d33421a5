from django.contrib import admin
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from config.health import healthz, metrics, readyz, status_page
from config.views import set_language
from incidents.admin.reports import (
    eightd_report_view,
    incident_report_view,
    problem_group_report_view,
)
from incidents.api.app import api

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    # The chat's HTTP end, behind the admin's login and checks (names: chat:*).
    path("admin/chat/", include("messaging.urls")),
    path("admin/status/", admin.site.admin_view(status_page), name="system_status"),
    # An incident's failure-analysis report, as PDF or XLSX (incidents/admin/reports.py).
    path(
        "admin/incidents/incident/<str:incident_id>/report.<str:kind>",
        admin.site.admin_view(incident_report_view),
        name="incident_report",
    ),
    path(
        "admin/incidents/problemgroup/<str:group_id>/report.<str:kind>",
        admin.site.admin_view(problem_group_report_view),
        name="problem_group_report",
    ),
    # A problem group's 8D report, as PDF or XLSX.
    path(
        "admin/incidents/problemgroup/<str:group_id>/8d.<str:kind>",
        admin.site.admin_view(eightd_report_view),
        name="problem_group_eightd_report",
    ),
    path("admin/", admin.site.urls),
    # The REST API, its OpenAPI schema and its reference (incidents/api, DESIGN.md).
    path("api/v1/", api.urls),
    # Django's language switcher, which also keeps the choice on the person's account.
    path("i18n/setlang/", set_language, name="set_language"),
    # For nginx, orchestrators and monitoring (config/health.py).
    path("healthz", healthz, name="healthz"),
    # Browsers ask for /favicon.ico on pages and files that name no icon (a PDF, an image).
    path(
        "favicon.ico",
        lambda request: HttpResponsePermanentRedirect(static("favicon-32.png")),
        name="favicon",
    ),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
]

# Stale links and refusals inside the product's frame (when DEBUG is off, as it is by default).
handler404 = "config.errors.page_not_found"
handler403 = "config.errors.permission_denied"
handler500 = "config.errors.server_error"
