"""What nginx, an orchestrator and a monitoring system ask a process.

- `/healthz`: the process answers (no database, no Redis): restart it when this fails.
- `/readyz`: it can serve: the database answers, every migration is applied, and Redis (when
  configured) answers. 503 with what is wrong otherwise: send it no traffic until it is ready.

Both answer anyone, without a session, and are exempt from the HTTPS redirect so a proxy can
ask over plain HTTP on its private network. `/metrics` (config/status.py) answers a monitoring
system holding METRICS_TOKEN; `/admin/status/` shows the same to administrators.
"""

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from config.probes import database_problem, redis_problem
from config.status import prometheus_text, system_status


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": database_problem(), "redis": redis_problem()}
    ready = not any(checks.values())
    return JsonResponse(
        {
            "status": "ok" if ready else "unavailable",
            "checks": {name: problem or "ok" for name, problem in checks.items()},
        },
        status=200 if ready else 503,
    )


def metrics(request: HttpRequest) -> HttpResponse:
    """The status as Prometheus metrics, for a request carrying the METRICS_TOKEN; a 404 when
    no token is configured or the request does not carry it (nothing says it is here)."""
    expected = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not expected or not constant_time_compare(given, expected):
        raise Http404
    return HttpResponse(
        prometheus_text(system_status()), content_type="text/plain; version=0.0.4; charset=utf-8"
    )


def status_page(request: HttpRequest) -> HttpResponse:
    """The status for the site's administrators, inside the admin."""
    if not request.user.is_admin:
        raise PermissionDenied
    context = {
        **admin.site.each_context(request),
        "title": _("System status"),
        "status": system_status(),
    }
    return TemplateResponse(request, "admin/system_status.html", context)
