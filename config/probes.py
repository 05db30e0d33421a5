"""Whether the services a process stands on answer: the database (with every migration
applied) and Redis. Asked by the readiness check and the system status."""

import logging

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

logger = logging.getLogger(__name__)


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
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        logger.warning("readiness: Redis is not reachable: %s", error)
        return f"unreachable: {type(error).__name__}"
    finally:
        client.close()
    return None
