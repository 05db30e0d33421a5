"""Section `reports`: a problem group of REPORT_INCIDENTS (2,000)
seeded incidents, its failure-analysis report made as PDF and as XLSX by a real
`manage.py db_worker --batch` process (the production worker), while a supervisor's incident
list is requested over and over in this process.

Figures: each report's time in the worker and the worker process's peak memory (ru_maxrss of
that child alone, from os.wait4), and the incident list's median time while the worker runs
against its idle median measured just before in the same run (goal: within 1.5x; peak memory
goal: under 500 MB)."""

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from scripts.bench.figures import figure
from scripts.servers import ROOT

REPORT_INCIDENTS = int(os.environ.get("BENCH_REPORT_INCIDENTS", "2000"))
LIST_URL = "/admin/incidents/incident/"


# A person opens their list about once a second at most (back-to-back requests would measure a
# process competing with the worker for the CPU, not a person waiting for a page).
LIST_EVERY_SECONDS = 1.0


def _list_times(client, *, seconds: float | None = None, count: int | None = None, until=None):
    """Times of the incident list, requested once every LIST_EVERY_SECONDS: `count` of them, or
    for `seconds`, or until `until()` is true."""
    times = []
    started = time.perf_counter()
    while True:
        begin = time.perf_counter()
        response = client.get(LIST_URL)
        assert response.status_code == 200, response.status_code
        times.append(time.perf_counter() - begin)
        time.sleep(max(0.0, LIST_EVERY_SECONDS - times[-1]))
        if count is not None and len(times) >= count:
            return times
        if seconds is not None and time.perf_counter() - started >= seconds:
            return times
        if until is not None and until():
            return times


def _seeded_group():
    from fixtures.scale import seed_scale
    from incidents.models import Employee, Incident, ProblemGroup

    seed_scale(incidents=REPORT_INCIDENTS, seed=5)
    group = ProblemGroup.objects.create(number="BENCH-REPORT-0001", title="台架报告 bench")
    pks = list(Incident.objects.order_by("pk").values_list("pk", flat=True)[:REPORT_INCIDENTS])
    Incident.objects.filter(pk__in=pks).update(problem_group=group)
    supervisor = (
        Employee.objects.filter(
            is_active=True, is_superuser=False, supervised_departments__isnull=False
        )
        .distinct()
        .first()
    )
    admin_person = Employee.objects.filter(is_active=True, is_superuser=True).first()
    return group, supervisor, admin_person


def _run_worker(env: dict, log: Path) -> tuple[float, float, int]:
    """One `db_worker --batch` over the queue: seconds, peak RSS in MB, exit status."""
    started = time.perf_counter()
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--batch", "--no-reload"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, process.returncode


def _worker_into(env: dict, log: Path, result: dict) -> None:
    result["seconds"], result["peak"], result["status"] = _run_worker(env, log)


def _ended(thread: threading.Thread):
    return lambda: not thread.is_alive()


def run() -> None:
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from incidents.models import ReportJob, ReportJobStatus
    from incidents.services.report_jobs import group_report_start
    from scripts.servers import database_url, server_environment

    if connection.vendor != "postgresql":
        print("Reports: skipped (needs PostgreSQL)")
        return
    print(f"Group reports as jobs ({REPORT_INCIDENTS:,} incidents in one problem group):")
    started = time.perf_counter()
    group, supervisor, admin_person = _seeded_group()
    print(f"  seeded in {time.perf_counter() - started:.1f} s")
    reader = admin_person or supervisor
    client = Client()
    client.force_login(supervisor)
    _list_times(client, count=3)  # warm up: imports, templates, caches
    idle = statistics.median(_list_times(client, count=15))
    figure("reports", "incident list, idle (median)", idle * 1000, "ms")

    folder = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    env = server_environment(
        database_url=database_url(connection.settings_dict),
        redis_url=settings.REDIS_URL or "",
        data_dir=folder,
    )
    for file_format in ("pdf", "xlsx"):
        job = group_report_start(group=group, file_format=file_format, by=reader)
        result: dict = {}
        worker = threading.Thread(target=_worker_into, args=(env, folder / "worker.log", result))
        worker.start()
        busy = _list_times(client, until=_ended(worker))
        worker.join()
        job.refresh_from_db()
        label = file_format.upper()
        if job.status != ReportJobStatus.DONE:
            print(f"  {label}: the job ended {job.status}: {job.error} (see {folder}/worker.log)")
            continue
        busy_median = statistics.median(busy)
        figure("reports", f"group report {label}: time in the worker", result["seconds"], "s")
        figure(
            "reports",
            f"group report {label}: worker peak memory",
            result["peak"],
            "MB",
            goal="< 500 MB",
        )
        figure(
            "reports",
            f"incident list while the {label} is made (median)",
            busy_median * 1000,
            "ms",
            idle * 1000,
            "idle list",
            goal="<= 1.5x",
        )
        print(
            f"  {label}: {result['seconds']:.1f} s in the worker, peak {result['peak']:.0f} MB "
            f"(goal < 500 MB), file {job.size / 1e6:.1f} MB; incident list median "
            f"{busy_median * 1000:.0f} ms over {len(busy)} requests while it ran, idle "
            f"{idle * 1000:.0f} ms: {busy_median / idle:.2f}x (goal <= 1.5x)"
        )
        ReportJob.objects.filter(pk=job.pk).delete()
