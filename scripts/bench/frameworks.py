"""Section `frameworks`: the choice of the API's framework, measured. The product's results
endpoint (django-ninja, incidents/api/results.py) and the same endpoint written with Django REST
Framework and drf-spectacular (drf_results.py) take the same batches of 100 results from the
same station's token, in the same run, through Django's test client (in process, as section
`api`): round after round, batch by batch, the two in turn (the first changing every batch, so
that a table growing or a neighbour's load favours neither); the median of the rounds is kept.
Beside them, a bare bulk insert of the same rows. Then, the database left out, what each
framework costs to check a batch's rows and to turn a page of 200 incidents into JSON; and
whether drf-spectacular describes its endpoint without a warning."""

import json
import os
import time
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone
from ninja.operation import ResponseObject
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer as DrfRenderer

from incidents.api.app import api
from incidents.api.incidents import router as incidents_router
from incidents.api.results import ResultIn
from incidents.models import StationResult
from incidents.services.results import ResultRow
from incidents.services.tokens import api_token_create
from locations.models import Device
from scripts.bench.api import ROWS, results_batch
from scripts.bench.drf_results import URL as DRF_URL
from scripts.bench.drf_results import ResultSerializer, openapi_schema
from scripts.bench.figures import figure, median

ROUNDS = int(os.environ.get("BENCH_FRAMEWORKS_ROUNDS", "5"))
BATCHES = int(os.environ.get("BENCH_FRAMEWORKS_BATCHES", "20"))
NINJA_URL = "/api/v1/results/"
PAGE = 200


def _post(client: Client, url: str, body: str) -> float:
    """Seconds one batch takes, from the request to the answer."""
    started = time.perf_counter()
    answer = client.post(url, body, content_type="application/json")
    spent = time.perf_counter() - started
    assert answer.status_code == 200, answer.content[:300]
    return spent


def _bare(devices: list, rows: list[dict]) -> float:
    """Rows per second of the same rows written by a bare bulk insert, a batch at a time."""
    by_serial = {device.serial_number: device for device in devices}
    objects = [
        StationResult(
            device=by_serial[row["serial_number"]],
            station=row["station"],
            result_id=row["result_id"],
            test_item=row["test_item"],
            passed=row["passed"],
            value=row["value"],
            low_limit=row["low_limit"],
            high_limit=row["high_limit"],
            log_url=row["log_url"],
            tested_at=datetime.fromisoformat(row["tested_at"]),
        )
        for row in rows
    ]
    started = time.perf_counter()
    for offset in range(0, len(objects), ROWS):
        StationResult.objects.bulk_create(objects[offset : offset + ROWS], ignore_conflicts=True)
    return len(objects) / (time.perf_counter() - started)


def results_through_both() -> None:
    _token, secret = api_token_create(name="BENCH-FRAMEWORKS", scopes=["results:write"])
    devices = Device.objects.bulk_create(
        [Device(serial_number=f"FWBENCH{n:05d}") for n in range(ROWS)]
    )
    serials = [device.serial_number for device in devices]
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    start_at = timezone.now() - timedelta(days=2)
    urls = {"ninja": NINJA_URL, "drf": DRF_URL}
    rates: dict[str, list[float]] = {"ninja": [], "drf": [], "bare": []}
    # Each framework's station comes to be on its first result, the warm-up batch, so the
    # rounds measure results of known stations only.
    with override_settings(
        ROOT_URLCONF="scripts.bench.drf_results", RESULTS_REGISTER_UNKNOWN_STATIONS=True
    ):
        for name, url in urls.items():
            warm = json.dumps(
                {"results": results_batch(serials, f"FW-{name.upper()}", 0, start_at)}
            )
            assert client.post(url, warm, content_type="application/json").status_code == 200
        for number in range(ROUNDS):
            # Batch by batch, each framework in turn, the first one changing every batch.
            spent = {"ninja": 0.0, "drf": 0.0}
            for n in range(BATCHES):
                for name in ("ninja", "drf") if n % 2 == 0 else ("drf", "ninja"):
                    rows = results_batch(serials, f"FW-{name.upper()}", n, start_at, f"/{number}")
                    spent[name] += _post(client, urls[name], json.dumps({"results": rows}))
            for name in urls:
                rates[name].append(BATCHES * ROWS / spent[name])
            rows = [
                row
                for n in range(BATCHES)
                for row in results_batch(serials, "FW-BARE", n, start_at, f"/{number}")
            ]
            rates["bare"].append(_bare(devices, rows))
    # Both stored every row they were sent: the two did the same work.
    for name in urls:
        stored = StationResult.objects.filter(station=f"FW-{name.upper()}").count()
        assert stored == (ROUNDS * BATCHES + 1) * ROWS, (name, stored)
    ninja, drf, bare = (median(rates[name]) for name in ("ninja", "drf", "bare"))
    for name, rate in (("django-ninja (the product)", ninja), ("DRF + drf-spectacular", drf)):
        print(f"  {name:<28} batches of {ROWS}: {rate:>8.0f} results/s (median of {ROUNDS})")
    print(f"  the same rows, bare bulk insert:           {bare:>8.0f} rows/s")
    print(f"  django-ninja / DRF: {ninja / drf:.2f}")
    figure(
        "frameworks",
        f"results via django-ninja, batches of {ROWS} (vs DRF)",
        ninja,
        "r/s",
        baseline=drf,
        baseline_name="DRF + drf-spectacular",
        goal=">= 1000 r/s; ratio > 1: ninja faster",
    )
    figure(
        "frameworks",
        f"results via DRF + drf-spectacular, batches of {ROWS}",
        drf,
        "r/s",
        baseline=bare,
        baseline_name="bare bulk insert",
        goal=">= 1000 r/s, bare/API <= 3",
    )
    figure(
        "frameworks",
        f"results via django-ninja, batches of {ROWS}",
        ninja,
        "r/s",
        baseline=bare,
        baseline_name="bare bulk insert",
        goal=">= 1000 r/s, bare/API <= 3",
    )


def batch_checking() -> None:
    """Milliseconds to check the rows of one batch of 100 as the two endpoints do, the
    database left out: the product's pydantic model against DRF's serializer."""
    serials = [f"FWCHECK{n:05d}" for n in range(ROWS)]
    rows = json.loads(json.dumps(results_batch(serials, "FW-CHECK", 0, timezone.now())))

    def ninja() -> list[ResultRow]:
        return [ResultRow(**ResultIn.model_validate(raw).model_dump()) for raw in rows]

    def drf() -> list[ResultRow]:
        checker = ResultSerializer()
        return [ResultRow(**checker.run_validation(raw)) for raw in rows]

    assert ninja() == drf()
    ninja_ms, drf_ms = _interleaved(ninja, drf)
    print(
        f"  checking a batch of {ROWS} rows: django-ninja (pydantic) {ninja_ms:.2f} ms, "
        f"DRF serializer {drf_ms:.2f} ms"
    )
    figure(
        "frameworks",
        f"checking a batch of {ROWS} rows, django-ninja (vs DRF)",
        ninja_ms,
        "ms",
        baseline=drf_ms,
        baseline_name="DRF serializer",
        goal="ratio < 1: ninja faster",
    )


def _interleaved(ninja, drf) -> tuple[float, float]:
    """Median milliseconds of each, called in turn so that a neighbour's load falls on both."""
    times: dict[str, list[float]] = {"ninja": [], "drf": []}
    for number in range(ROUNDS * 20):
        turn = (("ninja", ninja), ("drf", drf))
        for name, work in turn if number % 2 == 0 else reversed(turn):
            started = time.perf_counter()
            work()
            times[name].append((time.perf_counter() - started) * 1000)
    return median(times["ninja"]), median(times["drf"])


class PersonSerializer(serializers.Serializer):
    employee_number = serializers.CharField()
    name = serializers.CharField()


class FailureSerializer(serializers.Serializer):
    station = serializers.CharField()
    item = serializers.CharField()
    log_urls = serializers.ListField(child=serializers.CharField())
    failed_at = serializers.DateTimeField(allow_null=True, default_timezone=UTC)


class IncidentSerializer(serializers.Serializer):
    """The DRF twin of the product's `IncidentOut`."""

    id = serializers.IntegerField()
    stage = serializers.CharField()
    step = serializers.CharField()
    serial_number = serializers.CharField()
    project = serializers.CharField()
    failure = FailureSerializer()
    problem_group = serializers.CharField(allow_null=True)
    assignee = PersonSerializer(allow_null=True)
    opened_at = serializers.DateTimeField(default_timezone=UTC)
    closed_at = serializers.DateTimeField(allow_null=True, default_timezone=UTC)


class IncidentPageSerializer(serializers.Serializer):
    results = IncidentSerializer(many=True)
    next = serializers.CharField(allow_null=True)


def _page() -> dict:
    """A page of incidents as `incidents.api.shapes.incident` gives them to the framework."""
    opened = datetime(2025, 3, 4, 10, 22, tzinfo=UTC)
    return {
        "results": [
            {
                "id": 100_000 - n,
                "stage": "xray",
                "step": "waiting",
                "serial_number": f"SN{n:08d}",
                "project": "P-ALPHA",
                "failure": {
                    "station": "FCT-3",
                    "item": "BT_RSSI",
                    "log_urls": [f"https://logs.example/FCT-3/{n}.txt"],
                    "failed_at": opened,
                },
                "problem_group": "BUG-2025-0012" if n % 3 else None,
                "assignee": {"employee_number": f"E{n:05d}", "name": "Li Wei"} if n % 2 else None,
                "opened_at": opened + timedelta(minutes=n),
                "closed_at": None,
            }
            for n in range(PAGE)
        ],
        "next": "YmVmb3JlOjk5ODAw",
    }


def page_serialisation() -> None:
    """Milliseconds to check and render one page of 200 incidents as JSON, the database left
    out: what the framework alone adds to the incident list. django-ninja's side is the list's
    own response model, taken as django-ninja takes a view's return (`ResponseObject`, then its
    renderer); DRF's is a serializer of the same fields and its JSON renderer."""
    page = _page()
    operation = incidents_router.path_operations["/"].operations[0]
    response_model = operation.response_models[200]
    request = RequestFactory().get("/api/v1/incidents/")
    context = {"request": request, "response_status": 200}
    drf_renderer = DrfRenderer()

    def ninja() -> bytes:
        checked = response_model.model_validate(ResponseObject(page), context=context)
        return api.create_response(request, checked.model_dump()["response"], status=200).content

    def drf() -> bytes:
        return drf_renderer.render(IncidentPageSerializer(page).data)

    assert json.loads(ninja()) == json.loads(drf())
    ninja_ms, drf_ms = _interleaved(ninja, drf)
    print(
        f"  a page of {PAGE} incidents to JSON: django-ninja {ninja_ms:.2f} ms, DRF {drf_ms:.2f} ms"
    )
    figure(
        "frameworks",
        f"a page of {PAGE} incidents to JSON, django-ninja (vs DRF)",
        ninja_ms,
        "ms",
        baseline=drf_ms,
        baseline_name="DRF serializer",
        goal="ratio < 1: ninja faster",
    )


def schema_check() -> None:
    """drf-spectacular's schema of the DRF endpoint: made without warnings or errors."""
    started = time.perf_counter()
    schema, problems = openapi_schema()
    spent = (time.perf_counter() - started) * 1000
    assert DRF_URL in schema["paths"], schema["paths"]
    for problem in problems:
        print(f"  drf-spectacular: {problem}")
    print(f"  drf-spectacular's schema: {spent:.0f} ms, {len(problems)} warnings or errors")
    figure(
        "frameworks",
        "drf-spectacular schema: warnings and errors",
        len(problems),
        "n",
        goal="0",
    )


def run() -> None:
    print(f"Frameworks ({connection.vendor}): {ROUNDS} rounds of {BATCHES} batches of {ROWS}")
    results_through_both()
    batch_checking()
    page_serialisation()
    schema_check()
