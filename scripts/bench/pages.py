"""Section `pages`: the admin pages at factory scale.

The same pages are measured on the same database at each size of BENCH_PAGE_SIZES (default
1,000 then 100,000 incidents, made by `seed_scale`, the second size adding to the first): the
server time of a request through Django's test client with DEBUG off (median and p95 of
BENCH_PAGE_LOADS loads after a first one) and its number of queries, as a supervisor sees them.

Baselines, measured in the same run:
- the same page at the smallest size: a page is flat when its time at 100,000 is at most 1.3x its
  time at 1,000, with the same number of queries. A list's rows on the page are printed beside
  it, and a goal comparing pages of different rows names both: a work queue holds a few
  incidents at 1,000 (fewer than the smallest page size, 25, so no page size evens them) and a
  full page at 100,000;
- a plain Django `ModelAdmin` for each of our lists (incidents, devices, locations, people) on
  its own admin site with Django's own templates, built from the registered admin: the same
  columns (the same callables, called on it), queryset, ordering, filters and page size, and
  what the rows read besides their columns (deadlines, unread messages), on the same data. The
  filters are Django's own for the same fields, except a foreign key the product types for
  (a location, a person, a problem group): Django has no typed filter, and listing hundreds of
  places or a thousand people would make the baseline slower than ours for no reason of ours;
- at the largest size, each kind of search term, every sortable column of the incident and
  device lists both ways, the device list's last page and the one-letter device autocomplete,
  against the same page unsearched and unsorted (BENCH_SEARCH_LOADS loads each).

Every page counts the sidebar's and the bell's figures (config.kit.kept keeps them only while
nothing at all is written to the server, which a factory's test stations do all day): a
person's reload with nothing written, the figures kept, is measured beside it at the largest
size, for information.

The dashboard keeps its figures while nothing changes (incidents.dashboard.kept): it is measured
as a manager reloading it, right after a change (an open incident, one after another at random,
edited through the service before each load, untimed: the parts of its days are counted again,
incidents.dashboard.periods), and counting everything at once on every view (keeping off), for
comparison. A period with a start is put together from the same kept parts: at the largest size,
a quarter whose start moves a day back at each load (its other parts kept), and the same after a
change, against the quarter counted at once.
"""

import copy
import datetime
import gc
import os
import re
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
from unfold.contrib.filters.admin import AutocompleteSelectFilter

from config.kit.lists import DEFAULT_PAGE_SIZE
from scripts.bench.figures import figure

SIZES = [int(n) for n in os.environ.get("BENCH_PAGE_SIZES", "1000,100000").split(",")]
LOADS = int(os.environ.get("BENCH_PAGE_LOADS", "10"))
# The many searched and sorted pages at the largest size are loaded fewer times.
SEARCH_LOADS = int(os.environ.get("BENCH_SEARCH_LOADS", "5"))

# A plain Django admin site for the baselines: Django's ModelAdmin and templates.
plain_site = admin.AdminSite(name="plain")


def _made_by_unfold(kind: type) -> bool:
    return any(base.__module__.startswith("unfold.") for base in kind.__mro__)


def _plain_filters(filters) -> list:
    """The product's list filters as a plain admin has them: ours kept as they are (they are
    Django's filters), Unfold's replaced by Django's own for the same field, and a foreign key
    typed for (Unfold's autocomplete) left out, as Django has no typed filter."""
    plain = []
    for spec in filters:
        if isinstance(spec, str):
            plain.append(spec)
            continue
        field, kind = spec if isinstance(spec, (list, tuple)) else (None, spec)
        if not _made_by_unfold(kind):
            plain.append(spec)
        elif field is not None and not issubclass(kind, AutocompleteSelectFilter):
            plain.append(field)
    return plain


def _cell(product: admin.ModelAdmin, name: str):
    """A column of the product's admin, called on it, for the plain one (as a method of its
    own, so `list_display_links` names it as before)."""
    method = getattr(product, name)

    def cell(self, obj):
        return method(obj)

    cell.__dict__.update(getattr(method, "__func__", method).__dict__)
    cell.__name__ = name
    return cell


class PlainIncidentRows:
    """What the product's incident list reads for its page besides the rows (its
    `get_changelist_instance`): each incident's unread chat messages for the reader, in one
    query; the deadlines come with DeadlineColumnMixin, mixed in as the product does."""

    def get_changelist_instance(self, request):
        from incidents.admin.incidents import count_unread_messages

        changelist = super().get_changelist_instance(request)
        count_unread_messages(request, changelist.result_list)
        return changelist


def _plain_admin(product: admin.ModelAdmin) -> type[admin.ModelAdmin]:
    """A plain ModelAdmin for the product's registered `product`: its columns, queryset,
    ordering, filters, search fields and page size, read from it for each request."""
    from incidents.admin.deadlines import DeadlineColumnMixin
    from incidents.models import Incident

    model = product.model
    columns = {*product.list_display, *getattr(product, "colleague_list_display", ())}
    attributes = {
        name: _cell(product, name)
        for name in columns
        if isinstance(name, str)
        and name not in {field.name for field in model._meta.get_fields()}
        and hasattr(product, name)
    }
    attributes.update(
        __module__=__name__,
        list_per_page=DEFAULT_PAGE_SIZE,
        show_full_result_count=product.show_full_result_count,
        get_queryset=lambda self, request: product.get_queryset(request),
        get_ordering=lambda self, request: product.get_ordering(request),
        get_list_display=lambda self, request: product.get_list_display(request),
        get_list_display_links=lambda self, request, list_display: product.get_list_display_links(
            request, list_display
        ),
        get_list_filter=lambda self, request: _plain_filters(product.get_list_filter(request)),
        get_list_select_related=lambda self, request: product.get_list_select_related(request),
        get_search_fields=lambda self, request: product.get_search_fields(request),
        get_sortable_by=lambda self, request: product.get_sortable_by(request),
    )
    bases = (PlainIncidentRows, DeadlineColumnMixin) if model is Incident else ()
    return type(f"Plain{model.__name__}Admin", (*bases, admin.ModelAdmin), attributes)


def _register_plain_site() -> dict[str, str]:
    """Register the baselines once; their changelists' URLs by page name."""
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
            plain_site.register(model, _plain_admin(admin.site.get_model_admin(model)))
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
    fail_items = Counter(dict(_counted(Incident.objects.exclude(fail_item=""), "fail_item")))
    common_item = fail_items.most_common(1)[0][0]
    # A two-letter code of another fail item (a word of "WIFI_TX_POWER"), the most common one.
    codes = Counter()
    for item, count in fail_items.items():
        for word in item.split("_"):
            if len(word) == 2 and word.isalpha() and word not in common_item.split("_"):
                codes[word] += count
    # Chinese as the descriptions write it: the most common character and two-character word.
    characters, words = Counter(), Counter()
    for text in Incident.objects.order_by("pk").values_list("description", flat=True)[:500]:
        runs = re.findall(r"[\u4e00-\u9fff]+", text)
        characters.update(character for run in runs for character in run)
        words.update(run[n : n + 2] for run in runs for n in range(len(run) - 1))
    assignee = Incident.objects.filter(assignee__isnull=False).order_by("pk").first().assignee
    serial = device.serial_number
    return {
        "supervisor": supervisor,
        "incident": incident,
        "device": device,
        "serial_prefix": serial[:-2],
        "fail_item": incident.fail_item or "CAM",
        "number": str(closed.pk),
        # Each kind of search term: what it is, and the term.
        "searches": {
            "number": str(closed.pk),
            "serial prefix": serial[:-2],
            # Past the run's prefix ("SC01"), and short of the last digit.
            "serial infix": serial[4:-1],
            # The fail item about half the incidents carry.
            "common fail item": common_item,
            "Chinese character": characters.most_common(1)[0][0],
            "Chinese word": words.most_common(1)[0][0],
            "two-letter code": codes.most_common(1)[0][0],
            # The Chinese name a person is known by ("王伟" of "王伟 Wei Wang").
            "person's name": assignee.display_name.split()[0],
        },
    }


def _counted(rows, field: str) -> list[tuple[str, int]]:
    from django.db.models import Count

    return list(rows.order_by().values(field).annotate(n=Count("pk")).values_list(field, "n"))


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


def _measure(client: Client, url: str, loads: int = LOADS) -> dict:
    """Server time of `loads` loads after a first one, and the queries of one."""
    response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    times = []
    for _ in range(loads):
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


def _changes(world: dict):
    """A change of the workflow's data at each call, as a factory makes them all day: one open
    incident after another (chosen at random, the same ones at every size's turn) gets a new
    description through the service, which writes its history and timeline."""
    import random

    from incidents.choices import OPEN_STAGES
    from incidents.models import Incident
    from incidents.services.workflow import incident_update

    rng = random.Random(28)
    open_ones = list(
        Incident.objects.filter(stage__in=OPEN_STAGES).order_by("pk").values_list("pk", flat=True)
    )

    def change() -> None:
        incident = Incident.objects.get(pk=rng.choice(open_ones))
        incident_update(
            incident=incident,
            by=world["supervisor"],
            description=f"{incident.description[:200]} (seen again {time.time_ns()})",
        )

    return change


def _measure_after_change(client: Client, url: str, change, loads: int = LOADS) -> dict:
    """Server time of `loads` loads of `url`, each right after `change()` (not timed), and the
    queries of one."""
    response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    times = []
    for _ in range(loads):
        change()
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - start)
        assert response.status_code == 200, f"{url}: {response.status_code}"
    times.sort()
    return {
        "median": times[len(times) // 2] * 1000,
        "p95": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))] * 1000,
        "queries": len(queries),
        "rows": None,
    }


def _line(name: str, result: dict) -> str:
    rows = "" if result["rows"] is None else f"  {result['rows']:4} rows"
    return (
        f"  {name:<38} {result['median']:7.0f} ms  p95 {result['p95']:6.0f} ms  "
        f"{result['queries']:3} queries{rows}"
    )


INCIDENTS = "/admin/incidents/incident/"
DEVICES = "/admin/locations/device/"


def _sortable(client: Client, url: str) -> list[tuple[int, str]]:
    """The sortable columns of a list: their index (`?o=`) and name."""
    changelist = client.get(url).context["cl"]
    return [
        (index, name)
        for index, name in enumerate(changelist.list_display)
        if name in changelist.sortable_by and changelist.get_ordering_field(name) is not None
    ]


def _measure_searches_and_sorts(client: Client, world: dict) -> dict[str, tuple[dict, str]]:
    """At the largest size: each kind of search term on the incident list, the serial's on
    the device list, every sortable column of both lists each way, the device list's last page
    and the one-letter device autocomplete; each with the page it is compared with."""
    from urllib.parse import urlencode

    measured: dict[str, tuple[dict, str]] = {}

    def measure(name: str, url: str, baseline: str) -> None:
        measured[name] = result = (_measure(client, url, SEARCH_LOADS), baseline)
        print(_line(name, result[0]))

    # The lists unsearched and unsorted, measured again beside the pages compared with them.
    incidents, devices = "incidents, as they open", "devices, as they open"
    measure(incidents, INCIDENTS, "")
    measure(devices, DEVICES, "")
    for kind, term in world["searches"].items():
        measure(f"incidents ?q={term} ({kind})", f"{INCIDENTS}?{urlencode({'q': term})}", incidents)
    for kind in ("serial prefix", "serial infix"):
        term = world["searches"][kind]
        measure(f"devices ?q={term} ({kind})", f"{DEVICES}?{urlencode({'q': term})}", devices)
    for page, url in ((incidents, INCIDENTS), (devices, DEVICES)):
        short = page.split(",")[0]
        for index, name in _sortable(client, url):
            measure(f"{short} ?o={index} ({name})", f"{url}?o={index}", page)
            measure(f"{short} ?o=-{index} ({name})", f"{url}?o=-{index}", page)
    last = client.get(DEVICES).context["cl"].paginator.num_pages
    measure(f"devices ?p={last} (the last page)", f"{DEVICES}?p={last}", devices)
    autocomplete = "/admin/autocomplete/?app_label=incidents&model_name=incident&field_name=device"
    measure("device autocomplete, no term", f"{autocomplete}&term=", "")
    letter = world["device"].serial_number[0]
    measure(
        f"device autocomplete, term={letter}",
        f"{autocomplete}&term={letter}",
        "device autocomplete, no term",
    )
    return measured


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


def _measure_moving_quarter(client: Client, change=None) -> dict:
    """The dashboard for the quarter up to today, its start a day further back at each load:
    only the day it adds is counted, or with `change`, also the day a change came to (it is
    made before each load)."""

    def url(days_back: int) -> str:
        return f"/admin/?opened_from={timezone.localdate() - datetime.timedelta(days=days_back)}"

    client.get(url(91))
    times = []
    for n in range(LOADS):
        if change is not None:
            change()
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = client.get(url(92 + n + (LOADS if change else 0)))
            times.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
    times.sort()
    return {
        "median": times[len(times) // 2] * 1000,
        "p95": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))] * 1000,
        "queries": len(queries),
        "rows": None,
    }


def measure_periods(client: Client, change) -> dict[str, dict]:
    """The quarter counted at once, moved with its parts kept, and moved after a change."""
    quarter = f"/admin/?opened_from={timezone.localdate() - datetime.timedelta(days=90)}"
    with override_settings(DASHBOARD_FIGURES_SECONDS=0):
        measured = {"at once": _measure(client, quarter)}
    measured["parts kept"] = _measure_moving_quarter(client)
    measured["after a change"] = _measure_moving_quarter(client, change)
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
    at_once: dict[int, dict] = {}
    seeded = 0
    with override_settings(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"], KEPT_FIGURES=False):
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
            pages = _pages(world)
            for name, url in pages.items():
                figures[size][name] = result = _measure(client, url)
                print(_line(name, result))
            # The dashboard keeps its figures between views while nothing changes
            # (incidents.dashboard.kept); this is its view right after a change (only the
            # parts of the changed incident's days counted again), and for comparison with
            # nothing kept at all.
            change = _changes(world)
            counting[size] = result = _measure_after_change(client, "/admin/", change)
            print(_line("dashboard, right after a change", result))
            with override_settings(DASHBOARD_FIGURES_SECONDS=0):
                at_once[size] = result = _measure(client, "/admin/")
            print(_line("dashboard, counted at once on every view", result))
            if size == SIZES[-1]:
                with override_settings(KEPT_FIGURES=True):
                    kept = {
                        name: _measure(client, pages[name])
                        for name in ("incident list", "device list")
                    }
                for name, result in kept.items():
                    print(_line(f"{name}, reloaded, figures kept", result))
                restricted = _measure_restricted(client, pages)
                quarters = measure_periods(client, change)
                print(f"  searched and sorted, median of {SEARCH_LOADS}:")
                searched = _measure_searches_and_sorts(client, world)
            plain[size] = {}
            with override_settings(TEMPLATES=_plain_templates()):
                for name, url in plain_urls.items():
                    plain[size][name] = result = _measure(client, url)
                    print(_line(name + ", plain Django admin", result))
    small, large = SIZES[0], SIZES[-1]
    _figures_of_pages(figures, small, large)
    for name, result in kept.items():
        figure(
            "pages",
            f"{name} at {large:,}, reloaded with the figures kept",
            result["median"],
            "ms",
            figures[large][name]["median"],
            "figures counted",
        )
    for name, result in figures[large].items():
        if name in plain[large]:
            figure(
                "pages",
                f"{name} at {large:,} vs plain Django admin",
                result["median"],
                "ms",
                plain[large][name]["median"],
                "plain ModelAdmin, same columns, queryset, filters",
                "at most 1.5x",
                ratio_at_most=1.5,
            )
    for name, (result, baseline) in searched.items():
        if not baseline:
            continue
        base = searched[baseline][0]
        figure(
            "pages",
            f"{name}: median",
            result["median"],
            "ms",
            base["median"],
            f"{baseline} at {large:,}",
            "at most 2x",
            ratio_at_most=2,
        )
    for name, result in restricted.items():
        figure(
            "pages",
            f"{name} at {large:,}, a project restricted: median",
            result["median"],
            "ms",
            figures[large][name]["median"],
            "no project restricted",
            "at most 1.2x",
            ratio_at_most=1.2,
        )
    figure(
        "pages",
        f"dashboard at {large:,}, right after a change: median",
        counting[large]["median"],
        "ms",
        counting[small]["median"],
        f"same at {small:,}",
        "at most 2x",
        ratio_at_most=2,
    )
    figure(
        "pages",
        f"dashboard at {large:,}, counted at once on every view: median",
        at_once[large]["median"],
        "ms",
        at_once[small]["median"],
        f"same at {small:,}",
    )
    for name in ("parts kept", "after a change"):
        kept = name == "parts kept"
        figure(
            "pages",
            f"dashboard at {large:,}, a quarter moved a day, {name}: median",
            quarters[name]["median"],
            "ms",
            quarters["at once"]["median"],
            "the quarter counted at once",
            "under 0.5x" if kept else "",
            ratio_at_most=0.5 if kept else None,
        )
    figure(
        "pages",
        f"dashboard at {large:,}, right after a change: queries",
        counting[large]["queries"],
        "",
        counting[small]["queries"],
        f"same at {small:,}",
        "1.0x",
        ratio_at_most=1.0,
    )


def _figures_of_pages(figures: dict, small: int, large: int) -> None:
    """Each page at the largest size against the same page at the smallest: flat when at most
    1.3x as long with as many queries. A work queue holds a few incidents at the smallest size
    and a full page at the largest, fewer than the smallest page size (25) at 1,000, so no page
    size evens them: its goal names both numbers of rows."""
    for name, result in figures[large].items():
        base = figures[small][name]
        rows = (
            f" ({result['rows']} rows against {base['rows']})"
            if result["rows"] != base["rows"]
            else ""
        )
        figure(
            "pages",
            f"{name} at {large:,}: median",
            result["median"],
            "ms",
            base["median"],
            f"same at {small:,}",
            "at most 1.3x" + rows,
            ratio_at_most=1.3,
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
            ratio_at_most=1.0,
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
