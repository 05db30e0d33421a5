"""Section `topology`: nginx in front of one, then two app processes with production settings
(scripts/topology.py), signed-in people browsing lists and incident pages for a bounded time:
throughput, p50/p95, errors, and the scale-out ratio."""

import os
import time
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.test import Client

from scripts.bench.figures import figure, percentile

TOPOLOGY_USERS = int(os.environ.get("BENCH_TOPOLOGY_USERS", "50"))
TOPOLOGY_SECONDS = float(os.environ.get("BENCH_TOPOLOGY_SECONDS", "20"))


def _browse(base_url: str, sessions: list[str], paths: list[str], seconds: float) -> dict:
    """Each session a person in a thread, opening `paths` in turn for `seconds`: their
    latencies and how many answers were not 200."""
    import threading
    import urllib.error
    import urllib.request

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def person(session: str, offset: int) -> None:
        n = offset
        while time.monotonic() < deadline:
            path = paths[n % len(paths)]
            n += 1
            request = urllib.request.Request(
                f"{base_url}{path}", headers={"Cookie": f"sessionid={session}"}
            )
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    response.read()
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError as error:
                status = type(error).__name__
            elapsed = time.perf_counter() - start
            with lock:
                if status == 200:
                    latencies.append(elapsed)
                else:
                    errors.append(f"{status} {path}")

    threads = [
        threading.Thread(target=person, args=(session, index))
        for index, session in enumerate(sessions)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"latencies": latencies, "errors": errors, "seconds": time.perf_counter() - started}


def run() -> None:
    """The production topology (nginx, app processes with production settings, the worker) with
    TOPOLOGY_USERS signed-in people browsing lists and incident pages for TOPOLOGY_SECONDS, once
    with one app process and once with two: throughput, p50/p95 and errors, and the ratio."""
    import tempfile

    from django.core.management import call_command

    from incidents.models import Employee, Incident
    from scripts.servers import database_url, server_environment
    from scripts.topology import nginx_available, production_topology

    if connection.vendor != "postgresql" or not settings.REDIS_URL or not nginx_available():
        print("Topology: skipped (needs PostgreSQL, REDIS_URL and nginx)")
        return
    call_command("seed_demo", verbosity=0)
    people = list(Employee.objects.filter(is_active=True, is_superuser=False)[:20])
    sessions = []
    for index in range(TOPOLOGY_USERS):
        client = Client()
        client.force_login(people[index % len(people)])
        sessions.append(client.cookies["sessionid"].value)
    incidents = list(Incident.objects.order_by("pk").values_list("pk", flat=True)[:20])
    paths = [
        "/admin/incidents/incident/",
        *[f"/admin/incidents/incident/{pk}/change/" for pk in incidents[:5]],
        "/admin/locations/device/",
        "/admin/incidents/incident/?work=mine",
    ]
    print(
        f"Topology through nginx ({TOPOLOGY_USERS} signed-in people, {TOPOLOGY_SECONDS:g} s each "
        "run, incident and device lists and incident pages in turn; the people are threads of "
        "this process, on the same 2 cores as the servers):"
    )
    results = {}
    for apps in (1, 2):
        folder = Path(tempfile.mkdtemp(prefix=f"bench-topology-{apps}-"))
        env = server_environment(
            database_url=database_url(connection.settings_dict),
            redis_url=settings.REDIS_URL,
            data_dir=folder,
        )
        with production_topology(base_env=env, directory=folder, apps=apps) as topology:
            # One round to warm the processes up (imports, pools, templates), not counted.
            _browse(topology.url, sessions[:4], paths, 2)
            result = _browse(topology.url, sessions, paths, TOPOLOGY_SECONDS)
        latencies = result["latencies"]
        rate = len(latencies) / result["seconds"]
        results[apps] = rate
        figure(
            "topology",
            f"{apps} app processes: pages",
            rate,
            "/s",
            results[1] if apps > 1 else None,
            "1 process" if apps > 1 else "",
        )
        figure("topology", f"{apps} app processes: p95", percentile(latencies, 0.95) * 1000, "ms")
        figure("topology", f"{apps} app processes: errors", len(result["errors"]), "", goal="0")
        print(
            f"  {apps} app process{'es' if apps > 1 else ''}: {rate:7.1f} pages/s   "
            f"p50 {percentile(latencies, 0.5) * 1000:7.0f} ms   "
            f"p95 {percentile(latencies, 0.95) * 1000:7.0f} ms   "
            f"errors {len(result['errors'])}"
            + (f" (e.g. {result['errors'][0]})" if result["errors"] else "")
        )
    print(f"  scale-out ratio, 2 processes / 1: {results[2] / results[1]:.2f}x")
