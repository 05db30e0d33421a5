"""How the site is doing, for its administrators and for a monitoring system: the app processes
and workers alive, the task queue, the database and Redis, the disk of the uploaded files, and
the last backup. Shown at /admin/status/, as Prometheus metrics at /metrics (with
METRICS_TOKEN), and by `manage.py status`.

Each app process and worker announces itself every PROCESS_BEAT_SECONDS (config/kit/processes.py:
in Redis, or embedded, without Redis, in files under DATA_DIR/processes); the ones announced
within PROCESS_TTL_SECONDS are alive.
"""

import shutil
from pathlib import Path

from django.conf import settings

from config.backup import backups
from config.kit.processes import processes
from config.probes import database_problem, redis_problem


def _queue() -> dict:
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.filter(status="READY").count()
    running = DBTaskResult.objects.filter(status="RUNNING").count()
    return {"waiting": waiting, "running": running}


def _disk(path: Path) -> dict:
    path.mkdir(parents=True, exist_ok=True)
    usage = shutil.disk_usage(path)
    return {"path": str(path), "total": usage.total, "free": usage.free}


def _last_backup() -> dict | None:
    if not settings.BACKUP_DIR:
        return None
    found = backups(Path(settings.BACKUP_DIR))
    if not found:
        return {"directory": settings.BACKUP_DIR, "at": None, "size": 0, "count": 0}
    newest = found[-1]
    return {
        "directory": settings.BACKUP_DIR,
        "at": newest.created_at,
        "size": newest.size,
        "count": len(found),
    }


def system_status() -> dict:
    database = database_problem()
    alive = processes() if not redis_problem() else []
    status = {
        "database": database or "ok",
        "redis": (redis_problem() or "ok") if settings.REDIS_URL else "not used",
        "apps": [p for p in alive if p["kind"] == "app"],
        "workers": [p for p in alive if p["kind"] == "worker"],
        "queue": _queue() if not database else None,
        "media_disk": _disk(Path(settings.MEDIA_ROOT)),
        "backup": _last_backup(),
    }
    status["ok"] = (
        status["database"] == "ok"
        and status["redis"] in ("ok", "not used")
        and bool(status["workers"])
        and status["media_disk"]["free"] > settings.MEDIA_DISK_MIN_FREE_BYTES
    )
    return status


def prometheus_text(status: dict) -> str:
    """The status in Prometheus' text format."""
    backup = status["backup"] or {}
    queue = status["queue"] or {}
    backup_at = backup.get("at")
    if backup_at:
        from datetime import datetime

        backup_at = datetime.fromisoformat(backup_at).timestamp()
    lines = [
        ("adt_up", "Whether everything the site needs answers", int(status["ok"])),
        (
            "adt_database_up",
            "The database answers with migrations applied",
            int(status["database"] == "ok"),
        ),
        (
            "adt_redis_up",
            "Redis answers (1 when not used)",
            int(status["redis"] in ("ok", "not used")),
        ),
        ("adt_app_processes", "App processes alive", len(status["apps"])),
        ("adt_worker_processes", "Task workers alive", len(status["workers"])),
        ("adt_task_queue_waiting", "Background tasks waiting", queue.get("waiting", 0)),
        ("adt_task_queue_running", "Background tasks running", queue.get("running", 0)),
        (
            "adt_media_disk_free_bytes",
            "Free space on the disk of uploaded files",
            status["media_disk"]["free"],
        ),
        (
            "adt_media_disk_total_bytes",
            "Size of the disk of uploaded files",
            status["media_disk"]["total"],
        ),
        (
            "adt_last_backup_timestamp_seconds",
            "When the newest backup was made (0: none)",
            backup_at or 0,
        ),
        ("adt_last_backup_size_bytes", "Size of the newest backup", backup.get("size", 0)),
    ]
    out = []
    for name, help_text, value in lines:
        out += [f"# HELP {name} {help_text}.", f"# TYPE {name} gauge", f"{name} {value}"]
    return "\n".join(out) + "\n"
