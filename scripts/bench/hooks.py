"""Section `hooks`: webhook delivery does not slow the request that caused it. The work of the
requests that open an incident and cancel it (each service with everything that runs when it
commits: the dashboard, the chat's lines, and the webhooks' deliveries written and their task
queued), with 0 and then 5 active webhooks hearing every event, in turn round by round so that
a neighbour's load falls on both alike. The POSTs themselves are the worker's (none runs here:
their tasks wait in the queue, as they would for a worker)."""

import os
import statistics
import time

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
    devices = Device.objects.bulk_create(
        [Device(serial_number=f"HOOKBENCH{n:05d}") for n in range(2 * ROUNDS + 2)]
    )
    timings = {0: [], HOOKS: []}
    # One of each first, unmeasured: caches, connections, the first task queued.
    for index, hooks in enumerate((0, HOOKS)):
        Webhook.objects.update(is_active=bool(hooks))
        _open_and_cancel(devices[index], admin)
    for number in range(ROUNDS):
        for offset, hooks in enumerate((0, HOOKS) if number % 2 else (HOOKS, 0)):
            Webhook.objects.update(is_active=bool(hooks))
            device = devices[2 + 2 * number + offset]
            timings[hooks].append(_open_and_cancel(device, admin))
    written = WebhookDelivery.objects.count()
    assert written == 3 * HOOKS * (ROUNDS + 1), f"{written} deliveries written"
    without, with_hooks = statistics.median(timings[0]), statistics.median(timings[HOOKS])
    print(f"  open + cancel an incident, no webhook      {without:>9.2f} ms")
    print(f"  the same with {HOOKS} webhooks hearing all     {with_hooks:>9.2f} ms")
    print(f"  ({written} deliveries written, {HOOKS * 3} a round, all left to the worker)")
    figure(
        "hooks",
        f"open + cancel with {HOOKS} webhooks (median of {ROUNDS})",
        with_hooks,
        "ms",
        baseline=without,
        baseline_name="no webhook",
        goal="ratio close to 1 (same page time)",
    )
    WebhookDelivery.objects.all().delete()
    DBTaskResult.objects.filter(task_path__endswith=".webhook_deliver").delete()
