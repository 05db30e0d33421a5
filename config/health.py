"""What nginx, an orchestrator and a monitoring system ask a process.

- `/healthz`: the process answers (no database, no Redis): restart it when this fails.
- `/readyz`: it can serve: the database answers, every migration is applied, and Redis (when
  configured) answers. 503 with what is wrong otherwise: send it no traffic until it is ready.

Both answer anyone, without a session, and are exempt from the HTTPS redirect so a proxy can
ask over plain HTTP on its private network.
"""

import logging

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
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
