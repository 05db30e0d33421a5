"""Section `hooks`: webhook delivery does not slow the request that caused it. Measured with 0
and then 5 active webhooks hearing every event, in turn round by round so that a neighbour's
load falls on both alike: the work of opening an incident and cancelling it (each service with
everything that runs when it commits: the dashboard, the chat's lines, and the webhooks'
deliveries written with their task), and the admin's cancel page answering its POST. The POSTs
to the webhooks are the worker's (none runs here: their tasks wait in the queue, as they would
for a worker)."""

import logging
import os
import statistics
import time

from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from incidents.choices import WebhookEvent
from incidents.models import Employee, Webhook, WebhookDelivery
from incidents.services import incident_cancel, incident_open
from incidents.services.webhooks import webhook_create
from locations.models import Device
from scripts.bench.figures import figure

ROUNDS = int(os.environ.get("BENCH_HOOKS_ROUNDS", "60"))
HOOKS = 5


def _open_and_cancel(device: Device, admin: Employee) -> float:
    """Milliseconds of the two requests' work, commits and what follows them included."""
    started = time.perf_counter()
    incident = incident_open(device=device, reporter=admin, description="Bench: webhooks")
    incident_cancel(incident=incident, by=admin, reason="Bench: webhooks")
    return (time.perf_counter() - started) * 1000


def _cancel_page(client: Client, device: Device, admin: Employee) -> float:
    """Milliseconds of the admin's cancel page answering its POST (the incident opened before,
    not measured)."""
    incident = incident_open(device=device, reporter=admin, description="Bench: webhooks")
    url = reverse("admin:incidents_incident_cancel_action", args=[incident.pk])
    data = {"expected_stage": incident.stage, "expected_step": incident.step, "reason": "Bench"}
    started = time.perf_counter()
    answer = client.post(url, data)
    elapsed = (time.perf_counter() - started) * 1000
    assert answer.status_code == 302, answer.status_code
    return elapsed


def _in_turn(measure, devices: list[Device], label: str) -> None:
    """`measure(device)` with 0 and with HOOKS webhooks, in turn round by round, as one figure."""
    timings = {0: [], HOOKS: []}
    # One of each first, unmeasured: caches, connections, the first task queued.
    for index, hooks in enumerate((0, HOOKS)):
        Webhook.objects.update(is_active=bool(hooks))
        measure(devices[index])
    for number in range(ROUNDS):
        for offset, hooks in enumerate((0, HOOKS) if number % 2 else (HOOKS, 0)):
            Webhook.objects.update(is_active=bool(hooks))
            timings[hooks].append(measure(devices[2 + 2 * number + offset]))
    without, with_hooks = statistics.median(timings[0]), statistics.median(timings[HOOKS])
    print(f"  {label + ', no webhook':<44} {without:>9.2f} ms")
    print(f"  {label + f', {HOOKS} webhooks hearing all':<44} {with_hooks:>9.2f} ms")
    figure(
        "hooks",
        f"{label} with {HOOKS} webhooks (median of {ROUNDS})",
        with_hooks,
        "ms",
        baseline=without,
        baseline_name="no webhook",
        goal="ratio close to 1 (same page time)",
    )


def run() -> None:
    admin = Employee.objects.create(
        username="bench-hooks-admin", is_superuser=True, is_staff=True, first_name="Bench"
    )
    for number in range(HOOKS):
        webhook_create(
            url=f"http://127.0.0.1:9/bench/{number}",  # nothing listens: no worker runs here
            secret="bench-webhook-secret-0123456789",
            events=list(WebhookEvent.values),
            name=f"BENCH-MES-{number}",
            is_active=False,
        )
    count = 2 * ROUNDS + 2
    devices = Device.objects.bulk_create(
        [Device(serial_number=f"HOOKBENCH{n:05d}") for n in range(2 * count)]
    )
    _in_turn(lambda device: _open_and_cancel(device, admin), devices[:count], "open + cancel")
    written = WebhookDelivery.objects.count()
    assert written == 3 * HOOKS * (ROUNDS + 1), f"{written} deliveries written"
    client = Client()
    client.force_login(admin)
    requests = logging.getLogger("adt.request")  # a line per request: not in the bench's output
    level = requests.level
    requests.setLevel(logging.WARNING)
    try:
        _in_turn(lambda device: _cancel_page(client, device, admin), devices[count:], "cancel page")
    finally:
        requests.setLevel(level)
    print(f"  ({WebhookDelivery.objects.count()} deliveries written, all left to the worker)")
    WebhookDelivery.objects.all().delete()
    DBTaskResult.objects.filter(task_path__endswith=".webhook_deliver").delete()
