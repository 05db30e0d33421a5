"""Section `api`: test results through the REST API in batches of 100 (a station's token, the
JSON parsed and checked row by row, the service, the audit of the token's use), against a bare
bulk insert of the same rows, measured in the same run on the same database; and the cost of
the decision to open an incident, per failing result, with many incidents in the table."""

import json
import os
import time
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from scripts.bench.figures import figure

BATCHES = int(os.environ.get("BENCH_API_BATCHES", "50"))
ROWS = 100
# The incidents in the table when the decision to open is measured at scale (seeded for it
# unless an earlier section seeded as many).
INCIDENTS = int(os.environ.get("BENCH_API_INCIDENTS", "100000"))
# Failing results decided at scale, a batch of ROWS at a time, each of another device.
DECIDED = 1000


def results_batch(
    serials: list[str],
    station: str,
    number: int,
    start_at,
    key: str = "",
    passed=lambda index: True,
) -> list[dict]:
    """Batch `number` of ROWS results of `station` for the devices `serials` (passing unless
    `passed(index)` says otherwise), their ids told apart by `key`, a second apart per batch."""
    return [
        {
            "result_id": f"{station}{key}-{number}-{index}",
            "serial_number": serials[index],
            "station": station,
            "test_item": "BT_RSSI",
            "passed": passed(index),
            "value": -50.5,
            "low_limit": -80,
            "high_limit": -20,
            "log_url": f"https://logs.example/{number}/{index}.txt",
            "tested_at": (start_at + timedelta(seconds=number)).isoformat(),
        }
        for index in range(ROWS)
    ]


def run() -> None:
    from incidents.models import Station, StationResult
    from incidents.services.tokens import api_token_create
    from locations.models import Device

    # The stations the bench's results name, as an administrator added them.
    for name in ("FCT-API", "FCT-FAIL", "FCT-PASS", "FCT-SCALE-FAIL", "FCT-SCALE-PASS"):
        Station.objects.get_or_create(name=name)
    _token, secret = api_token_create(name="BENCH-LINE", scopes=["results:write"])
    devices = Device.objects.bulk_create(
        [Device(serial_number=f"APIBENCH{n:05d}") for n in range(ROWS)]
    )
    station = Client(headers={"Authorization": f"Bearer {secret}"})
    start_at = timezone.now() - timedelta(days=1)

    serials = [device.serial_number for device in devices]

    def batch(number: int, station_name: str, passed=lambda index: True) -> list[dict]:
        return results_batch(serials, station_name, number, start_at, passed=passed)

    bodies = [json.dumps({"results": batch(n, "FCT-API")}) for n in range(BATCHES)]
    station.post("/api/v1/results/", bodies[0], content_type="application/json")
    started = time.perf_counter()
    for body in bodies[1:]:
        answer = station.post("/api/v1/results/", body, content_type="application/json")
        assert answer.status_code == 200, answer.content[:300]
    api_rate = (BATCHES - 1) * ROWS / (time.perf_counter() - started)

    rows = [
        StationResult(
            device=devices[index],
            station="FCT-BARE",
            result_id=row["result_id"],
            test_item=row["test_item"],
            passed=row["passed"],
            value=row["value"],
            low_limit=row["low_limit"],
            high_limit=row["high_limit"],
            log_url=row["log_url"],
            tested_at=start_at,
        )
        for n in range(1, BATCHES)
        for index, row in enumerate(batch(n, "FCT-BARE"))
    ]
    started = time.perf_counter()
    for offset in range(0, len(rows), ROWS):
        StationResult.objects.bulk_create(rows[offset : offset + ROWS], ignore_conflicts=True)
    bare_rate = len(rows) / (time.perf_counter() - started)
    print(f"  results through the API (batches of {ROWS}) {api_rate:>9.0f} results/s")
    print(f"  the same rows, bare bulk insert            {bare_rate:>9.0f} rows/s")
    figure(
        "api",
        f"results through the API, batches of {ROWS}",
        api_rate,
        "r/s",
        baseline=bare_rate,
        baseline_name="bare bulk insert",
        goal=">= 1000 r/s, bare/API <= 3",
    )

    # Every tenth device fails once a batch: each failing result asks whether to open.
    failing = [
        json.dumps({"results": batch(n, "FCT-FAIL", passed=lambda index: index % 10 != 0)})
        for n in range(BATCHES)
    ]
    started = time.perf_counter()
    for body in failing:
        station.post("/api/v1/results/", body, content_type="application/json")
    with_fails = (time.perf_counter() - started) / BATCHES
    passing = [json.dumps({"results": batch(n, "FCT-PASS")}) for n in range(BATCHES)]
    started = time.perf_counter()
    for body in passing:
        station.post("/api/v1/results/", body, content_type="application/json")
    without = (time.perf_counter() - started) / BATCHES
    per_failure = max(0.0, with_fails - without) / (ROWS // 10) * 1000
    print(f"  the decision to open, per failing result   {per_failure:>9.2f} ms")
    figure(
        "api",
        "auto-open decision per failing result (few incidents)",
        per_failure,
        "ms",
        goal="< 10 ms (at 100,000 incidents)",
    )
    _decision_at_scale(station, start_at)


def _decision_at_scale(station: Client, start_at) -> None:
    """The decision to open, per failing result, with INCIDENTS incidents in the table: batches
    in which every row is the first failure of a device that has incidents (the decision reads
    its open and past incidents and its recent runs, and opens nothing), against the same
    batches passing, at another station."""
    from django.db import connection

    from fixtures.scale import seed_scale
    from incidents.models import Incident
    from locations.models import Device

    if connection.vendor != "postgresql":
        print("  the decision to open at scale: measured on PostgreSQL only")
        return
    have = Incident.objects.count()
    if have < INCIDENTS:
        seed_scale(incidents=INCIDENTS - have, seed=INCIDENTS)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    serials = list(
        Device.objects.filter(incidents__isnull=False)
        .order_by("pk")
        .distinct()
        .values_list("serial_number", flat=True)[:DECIDED]
    )
    batches = len(serials) // ROWS

    def body(at: str, passed: bool, number: int) -> str:
        rows = [
            {
                "result_id": f"{at}-{number}-{index}",
                "serial_number": serials[number * ROWS + index],
                "station": at,
                "test_item": "BT_RSSI",
                "passed": passed,
                "value": -50.5,
                "tested_at": start_at.isoformat(),
            }
            for index in range(ROWS)
        ]
        return json.dumps({"results": rows})

    # Taken in turn, a passing batch then a failing one, so that neither finds the other's
    # pages warmer.
    timings = {True: 0.0, False: 0.0}
    for number in range(batches):
        for at, passed in (("FCT-SCALE-PASS", True), ("FCT-SCALE-FAIL", False)):
            sent = body(at, passed, number)
            started = time.perf_counter()
            answer = station.post("/api/v1/results/", sent, content_type="application/json")
            timings[passed] += time.perf_counter() - started
            assert answer.status_code == 200, answer.content[:300]
            assert not answer.json()["incidents_opened"]
    decided = batches * ROWS
    per_failure = max(0.0, timings[False] - timings[True]) / max(decided, 1) * 1000
    print(
        f"  auto-open decision ms per failing result at {Incident.objects.count():,} incidents "
        f"{per_failure:>6.2f} ms ({decided} results)"
    )
    figure(
        "api",
        f"auto-open decision ms per failing result ({Incident.objects.count():,} incidents)",
        per_failure,
        "ms",
        goal="< 10 ms at 100,000 incidents",
    )
