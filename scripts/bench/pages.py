"""Section `pages`: the admin pages at factory scale.

The same pages are measured on the same database at each size of BENCH_PAGE_SIZES (default
1,000 then 100,000 incidents, made by `seed_scale`, the second size adding to the first): the
server time of a request through Django's test client with DEBUG off (median and p95 of
BENCH_PAGE_LOADS loads after a first one) and its number of queries, as a supervisor sees them.

Two baselines, measured in the same run:
- the same page at the smallest size: a page is flat when its time at 100,000 is at most 1.5x its
  time at 1,000, with the same number of queries. A list's rows on the page are printed beside
  it: a work queue holding a few incidents at 1,000 and a full page at 100,000 renders more
  rows, not slower ones;
- the same model's changelist in a plain Django `ModelAdmin` (no Unfold, default options but the
  same page size) on its own admin site with Django's own templates, on the same data.

The dashboard keeps its figures while nothing changes (incidents.dashboard.kept): it is measured
as a manager reloading it, and again counting its figures on every view, as right after a change.
A period with a start is put together from kept parts (incidents.dashboard.periods): at the
largest size, a quarter whose start moves a day back at each load (its other parts kept), and
the same after a change (every part counted), against the quarter counted at once.
"""

import copy
import datetime
import gc
import os
import time
from pathlib import Path

import django.contrib.admin
from django.conf import settings
from django.contrib import admin
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import include, path
from django.utils import timezone

from config.kit.lists import DEFAULT_PAGE_SIZE
from scripts.bench.figures import figure

SIZES = [int(n) for n in os.environ.get("BENCH_PAGE_SIZES", "1000,100000").split(",")]
LOADS = int(os.environ.get("BENCH_PAGE_LOADS", "10"))

# A plain Django admin site for the baseline: default options, the product's page size.
plain_site = admin.AdminSite(name="plain")


def _register_plain_site() -> dict[str, str]:
    """Register the baseline models once; their changelists' URLs by page name."""
    from incidents.models import Employee, Incident
    from locations.models import Device, Location

    models = {
        "incident list": Incident,
        "device list": Device,
        "location list": Location,
        "employee list": Employee,
    }
    for model in models.values():
        if not plain_site.is_registered(model):
            plain_site.register(
                model,
                type(
                    "PlainAdmin",
                    (admin.ModelAdmin,),
                    {
                        "list_per_page": DEFAULT_PAGE_SIZE,
                    },
                ),
            )
    return {
        name: f"/plain/{model._meta.app_label}/{model._meta.model_name}/"
        for name, model in models.items()
    }


# The bench's URLconf (set once the plain site has its models): the product's, and the plain
# site under /plain/.
urlpatterns: list = []


def _plain_templates() -> list[dict]:
    """The product's template settings with Django's own admin templates first, so the plain
    site renders as Django ships it rather than through Unfold's overrides."""
    templates = copy.deepcopy(settings.TEMPLATES)
    django_admin = Path(django.contrib.admin.__file__).parent / "templates"
    templates[0]["DIRS"] = [django_admin, *templates[0].get("DIRS", [])]
    return templates


def _world() -> dict:
    """What the pages are about, chosen from the seeded data: a supervisor of the department
    with the most open incidents, an open incident with a long timeline, a device with a trail,
    and search terms that find something."""
    from collections import Counter

    from django.db.models import Count

    from incidents.choices import OPEN_STAGES
    from incidents.models import Department, Incident, StageOwnership
    from locations.models import Device

    open_incidents = Incident.objects.filter(stage__in=OPEN_STAGES)
    owners = dict(StageOwnership.objects.values_list("stage", "department"))
    load = Counter()
    for row in open_incidents.values("stage").annotate(count=Count("pk")):
        load[owners.get(row["stage"])] += row["count"]
    departments = Department.objects.filter(supervisors__isnull=False).distinct()
    department = max(departments, key=lambda department: (load[department.pk], -department.pk))
    supervisor = department.supervisors.order_by("pk").first()
    incident = open_incidents.annotate(entries=Count("events")).order_by("-entries", "pk").first()
    device = Device.objects.get(pk=incident.device_id)
    closed = Incident.objects.exclude(stage__in=OPEN_STAGES).order_by("pk").first()
    return {
        "supervisor": supervisor,
        "incident": incident,
        "device": device,
        "serial_prefix": device.serial_number[:-2],
        "fail_item": incident.fail_item or "CAM",
        "number": str(closed.pk),
    }


def _pages(world: dict) -> dict[str, str]:
    incident, device = world["incident"], world["device"]
    return {
        "dashboard": "/admin/",
        "incident list": "/admin/incidents/incident/",
        "incident list, search number": f"/admin/incidents/incident/?q={world['number']}",
        "incident list, search serial prefix": (
            f"/admin/incidents/incident/?q={world['serial_prefix']}"
        ),
        "incident list, search fail item": f"/admin/incidents/incident/?q={world['fail_item']}",
        "queue: waiting for my review": "/admin/incidents/incident/?work=review",
        "queue: unassigned in my department": "/admin/incidents/incident/?work=unassigned",
        "incident page": f"/admin/incidents/incident/{incident.pk}/change/",
        "incident history": f"/admin/incidents/incident/{incident.pk}/history/",
        "device list": "/admin/locations/device/",
        "device list, search serial": f"/admin/locations/device/?q={device.serial_number}",
        "device page": f"/admin/locations/device/{device.pk}/change/",
        "device history": f"/admin/locations/device/{device.pk}/history/",
        "location list": "/admin/locations/location/",
        "employee list": "/admin/incidents/employee/",
        "problem group list": "/admin/incidents/problemgroup/",
        "notification list": "/admin/incidents/notification/",
        "message list": "/admin/messaging/message/",
    }


def _measure(client: Client, url: str) -> dict:
    """Server time of LOADS loads after a first one, and the queries of one."""
    response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    times = []
    for _ in range(LOADS):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - start)
        assert response.status_code == 200, f"{url}: {response.status_code}"
    times.sort()
    context = response.context
    changelist = context.get("cl") if context is not None else None
    return {
        "median": times[len(times) // 2] * 1000,
        "p95": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))] * 1000,
        "queries": len(queries),
        # A list's rows on the page: a queue of 6 at 1,000 incidents and of 50 at 100,000 is
        # not the same page.
        "rows": len(changelist.result_list) if changelist is not None else None,
    }


def _line(name: str, result: dict) -> str:
    rows = "" if result["rows"] is None else f"  {result['rows']:4} rows"
    return (
        f"  {name:<38} {result['median']:7.0f} ms  p95 {result['p95']:6.0f} ms  "
        f"{result['queries']:3} queries{rows}"
    )


# The pages whose rows a confidential project hides from the people outside it.
RESTRICTED_PAGES = (
    "dashboard",
    "incident list",
    "incident list, search fail item",
    "queue: waiting for my review",
    "device list",
    "location list",
)


def _measure_restricted(client: Client, pages: dict[str, str]) -> dict[str, dict]:
    """The pages again with the largest project restricted to nobody (the supervisor is
    outside it), then the restriction lifted."""
    from django.db.models import Count

    from incidents.models import ProjectAccess
    from locations.models import Device

    largest = (
        Device.objects.exclude(project="")
        .values("project")
        .annotate(count=Count("pk"))
        .order_by("-count")
        .first()
    )
    restriction = ProjectAccess.objects.create(project=largest["project"])
    print(f"  with project {largest['project']} ({largest['count']:,} devices) restricted:")
    measured = {}
    try:
        for name in RESTRICTED_PAGES:
            measured[name] = result = _measure(client, pages[name])
            print(_line(name + ", restricted", result))
    finally:
        restriction.delete()
    return measured


def _measure_moving_quarter(client: Client, changed: bool) -> dict:
    """The dashboard for the quarter up to today, its start a day further back at each load:
    only the day it adds is counted, or with `changed`, every part (a change came first)."""
    from incidents.dashboard import figures_changed

    def url(days_back: int) -> str:
        return f"/admin/?opened_from={timezone.localdate() - datetime.timedelta(days=days_back)}"

    client.get(url(91))
    times = []
    for n in range(LOADS):
        if changed:
            figures_changed()
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = client.get(url(92 + n + (LOADS if changed else 0)))
            times.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
    times.sort()
    return {
        "median": times[len(times) // 2] * 1000,
        "p95": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))] * 1000,
        "queries": len(queries),
        "rows": None,
    }


def measure_periods(client: Client) -> dict[str, dict]:
    """The quarter counted at once, moved with its parts kept, and moved after a change."""
    quarter = f"/admin/?opened_from={timezone.localdate() - datetime.timedelta(days=90)}"
    with override_settings(DASHBOARD_FIGURES_SECONDS=0):
        measured = {"at once": _measure(client, quarter)}
    measured["parts kept"] = _measure_moving_quarter(client, changed=False)
    measured["after a change"] = _measure_moving_quarter(client, changed=True)
    for name, result in measured.items():
        print(_line(f"dashboard, a quarter, {name}", result))
    return measured


def run() -> None:
    from fixtures.scale import seed_scale
    from incidents.models import Incident

    if connection.vendor != "postgresql":
        print("Pages at scale: measured on PostgreSQL only")
        return
    plain_urls = _register_plain_site()
    urlpatterns[:] = [path("plain/", plain_site.urls), path("", include("config.urls"))]
    figures: dict[int, dict[str, dict]] = {}
    plain: dict[int, dict[str, dict]] = {}
    counting: dict[int, dict] = {}
    seeded = 0
    with override_settings(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"]):
        for size in SIZES:
            start = time.perf_counter()
            seed_scale(incidents=size - seeded, seed=size)
            seeded = size
            with connection.cursor() as cursor:
                # What autovacuum does to tables at rest (statistics, visibility map, hint
                # bits), done now: left to itself it starts a minute or two after the seeding,
                # in the middle of the measurements, and takes a core for some 20 seconds.
                cursor.execute("VACUUM ANALYZE")
            # The app's processes keep what they load at start-up out of the garbage
            # collector's full sweeps (config/asgi.py); without the same here, a sweep over the
            # bench's own objects (some 70 ms) lands in one load in ten and sets the p95.
            gc.collect()
            gc.freeze()
            print(
                f"Pages at {Incident.objects.count():,} incidents (seeded in "
                f"{time.perf_counter() - start:.0f} s), as a supervisor, median of {LOADS}:"
            )
            world = _world()
            client = Client()
            client.force_login(world["supervisor"])
            figures[size] = {}
            for name, url in _pages(world).items():
                figures[size][name] = result = _measure(client, url)
                print(_line(name, result))
            # The dashboard keeps its figures between views while nothing changes
            # (incidents.dashboard.kept); this is its view right after a change.
            with override_settings(DASHBOARD_FIGURES_SECONDS=0):
                counting[size] = result = _measure(client, "/admin/")
            print(_line("dashboard, counted on every view", result))
            if size == SIZES[-1]:
                restricted = _measure_restricted(client, _pages(world))
                quarters = measure_periods(client)
            plain[size] = {}
            with override_settings(TEMPLATES=_plain_templates()):
                for name, url in plain_urls.items():
                    plain[size][name] = result = _measure(client, url)
                    print(_line(name + ", plain Django admin", result))
    small, large = SIZES[0], SIZES[-1]
    for name, result in restricted.items():
        figure(
            "pages",
            f"{name} at {large:,}, a project restricted: median",
            result["median"],
            "ms",
            figures[large][name]["median"],
            "no project restricted",
            "at most 1.2x",
        )
    figure(
        "pages",
        f"dashboard at {large:,}, counted on every view: median",
        counting[large]["median"],
        "ms",
        counting[small]["median"],
        f"same at {small:,}",
        "at most 2x (#12)",
    )
    for name in ("parts kept", "after a change"):
        figure(
            "pages",
            f"dashboard at {large:,}, a quarter moved a day, {name}: median",
            quarters[name]["median"],
            "ms",
            quarters["at once"]["median"],
            "the quarter counted at once",
            "under 0.5x" if name == "parts kept" else "",
        )
    figure(
        "pages",
        f"dashboard at {large:,}, counted on every view: queries",
        counting[large]["queries"],
        "",
        counting[small]["queries"],
        f"same at {small:,}",
        "1.0x",
    )
    for name, result in figures[large].items():
        base = figures[small][name]
        figure(
            "pages",
            f"{name} at {large:,}: median",
            result["median"],
            "ms",
            base["median"],
            f"same at {small:,}",
            "at most 1.5x; under 200 ms",
        )
        figure(
            "pages",
            f"{name} at {large:,}: p95",
            result["p95"],
            "ms",
            base["p95"],
            f"same at {small:,}",
        )
        figure(
            "pages",
            f"{name} at {large:,}: queries",
            result["queries"],
            "",
            base["queries"],
            f"same at {small:,}",
            "1.0x",
        )
        if result["rows"] is not None:
            figure(
                "pages",
                f"{name} at {large:,}: rows on the page",
                result["rows"],
                "",
                base["rows"],
                f"same at {small:,}",
            )
        if name in plain[large]:
            figure(
                "pages",
                f"{name} at {large:,} vs plain Django admin",
                result["median"],
                "ms",
                plain[large][name]["median"],
                "plain ModelAdmin",
                "at most 1.5x",
            )
