"""What nginx, an orchestrator and a monitoring system ask a process.

- `/healthz`: the process answers (no database, no Redis): restart it when this fails.
- `/readyz`: it can serve: the database answers, every migration is applied, and Redis (when
  configured) answers. 503 with what is wrong otherwise: send it no traffic until it is ready.

Both answer anyone, without a session, and are exempt from the HTTPS redirect so a proxy can
ask over plain HTTP on its private network. `/metrics` (config/status.py) answers a monitoring
system holding METRICS_TOKEN; `/admin/status/` shows the same to administrators.
"""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def database_problem() -> str | None:
    """Why the database cannot serve, or None: unreachable, or migrations not applied."""
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as error:
        logger.warning("readiness: the database is not reachable: %s", error)
        return f"unreachable: {type(error).__name__}"
    if pending:
        return f"{len(pending)} migration(s) not applied"
    return None


def redis_problem() -> str | None:
    """Why Redis cannot serve, or None (also when the product runs without Redis)."""
    if not settings.REDIS_URL:
        return None
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        logger.warning("readiness: Redis is not reachable: %s", error)
        return f"unreachable: {type(error).__name__}"
    finally:
        client.close()
    return None


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
    from config.status import prometheus_text, system_status

    expected = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not expected or not constant_time_compare(given, expected):
        raise Http404
    return HttpResponse(
        prometheus_text(system_status()), content_type="text/plain; version=0.0.4; charset=utf-8"
    )


def status_page(request: HttpRequest) -> HttpResponse:
    """The status for the site's administrators, inside the admin."""
    from django.contrib import admin

    from config.status import system_status

    if not request.user.is_admin:
        raise PermissionDenied
    context = {
        **admin.site.each_context(request),
        "title": _("System status"),
        "status": system_status(),
    }
    return TemplateResponse(request, "admin/system_status.html", context)
