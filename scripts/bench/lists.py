"""Section `lists`: the pages a supervisor lives in, in headless Chromium, served by uvicorn with
DEBUG off. Two databases of the section's own are filled by `seed_scale`, one with the smaller
and one with the larger size of BENCH_LIST_SIZES (default 1,000 and 100,000 incidents), each
served by its own app process; the pages of both are loaded in turn, so that whatever else the
machine does weighs on both alike:

- the incident list, the review queue, an incident's page and the dashboard: the time to a
  usable page (first contentful paint, and the page's main table or card in the document,
  whichever comes later), median of BENCH_LIST_LOADS loads after a first one; the goal is at
  most 1.5x the same page at the smaller size;
- at the larger size, the HTML bytes a row of the incident and device lists take (a page of
  200 rows against one of 50), in English and in Chinese, and the time to a usable page of 50
  and 200 rows against the same list filtered to one row.

Each database's person and incident are chosen the same way (`print_world`). Seeding 100,000
incidents takes some minutes (printed): BENCH_LIST_SIZES=1000,20000 measures a smaller world."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from scripts.bench.figures import figure, median
from scripts.servers import ROOT

LIST_LOADS = int(os.environ.get("BENCH_LIST_LOADS", "5"))
LIST_SIZES = [int(n) for n in os.environ.get("BENCH_LIST_SIZES", "1000,100000").split(",")]
LANGUAGES = ("en", "zh-hans")
# Each list, and the cell whose text finds its row by the list's search.
LISTS = {
    "incidents": ("/admin/incidents/incident/", "td.field-device a"),
    "devices": ("/admin/locations/device/", "th.field-serial_number a"),
}
# What makes each page usable: its main table or card.
MAIN_TABLE = "#result_list"
INCIDENT_CARD = "[data-testid=incident-summary]"
DASHBOARD_CARD = "[data-figure=open-total]"
# Set before any page script runs: when each of the selectors above first matched, in the
# page's own clock (performance.now(), from the start of the navigation).
_WATCH_MAIN = (
    "(() => {\n  const selectors = "
    + json.dumps([MAIN_TABLE, INCIDENT_CARD, DASHBOARD_CARD])
    + """;
  window.__mainAt = {};
  const look = () => {
    for (const selector of selectors) {
      if (!(selector in window.__mainAt) && document.querySelector(selector)) {
        window.__mainAt[selector] = performance.now();
      }
    }
  };
  new MutationObserver(look).observe(document, {childList: true, subtree: true});
})();
"""
)


def _lists_database(folder: Path) -> tuple[str, object, object]:
    """A database of its own for the server, filled by `seed_scale`: the figures are those of
    the factory whatever other sections wrote. Returns its URL, a function that runs a statement
    on it (autocommit) and one that drops it."""
    import uuid

    import psycopg

    from scripts.servers import database_url

    config = connection.settings_dict
    name = f"adt_bench_lists_{uuid.uuid4().hex[:8]}"

    def admin_connection(dbname: str = "postgres"):
        return psycopg.connect(
            host=config["HOST"] or "127.0.0.1",
            port=config["PORT"] or 5432,
            user=config["USER"],
            password=config["PASSWORD"],
            dbname=dbname,
            autocommit=True,
        )

    with admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def execute(statement: str) -> None:
        with admin_connection(name) as database:
            database.execute(statement)

    def drop():
        with admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return database_url({**config, "NAME": name}), execute, drop


def print_world() -> None:
    """Run in a process of its own on the section's database (the bench's process is on its
    test database): the person and incident the pages are about, as JSON on stdout, with a
    session of that person. The person is the supervisor of the department with the most open
    incidents (`pages._world`), their own language cleared so the language cookie decides."""
    from importlib import import_module

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from incidents.models import Employee
    from scripts.bench.pages import _world

    world = _world()
    person = world["supervisor"]
    Employee.objects.filter(pk=person.pk).update(language="")
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(person.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = person.get_session_auth_hash()
    store.save()
    print(
        json.dumps(
            {
                "session": store.session_key,
                "person": person.username,
                "incident": world["incident"].pk,
            }
        )
    )


def _python(env: dict, *arguments: str, timeout: float = 3600) -> str:
    """What a Python child process of the project, run with `env`, printed."""
    done = subprocess.run(
        [sys.executable, *arguments],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done.stdout


def _manage(env: dict, *command: str) -> str:
    return _python(env, "manage.py", *command)


def _load(page, url: str, main: str | None = None) -> dict:
    """One load of `url`: the document's bytes, its list rows, and when it became usable:
    first contentful paint and the main table or card (`main`) in the document, whichever came
    later, in seconds from the start of the navigation."""
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok, f"{url}: {response and response.status}"
    page.wait_for_function(
        "() => performance.getEntriesByName('first-contentful-paint').length > 0",
        timeout=10_000,
    )
    paint, found, loaded = page.evaluate(
        "(main) => [performance.getEntriesByName('first-contentful-paint')[0].startTime,"
        " main === null ? 0 : window.__mainAt[main],"
        " performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd]",
        main,
    )
    assert found is not None, f"{url}: no {main} on the page"
    return {
        "bytes": len(response.body()),
        "rows": page.locator(f"{MAIN_TABLE} tr.data-row").count(),
        "usable": max(paint, found) / 1000,
        "paint": paint / 1000,
        "loaded": loaded / 1000,
    }


def _pages(incident_id: int) -> dict[str, tuple[str, str]]:
    return {
        "incident list": ("/admin/incidents/incident/", MAIN_TABLE),
        "review queue": ("/admin/incidents/incident/?work=review", MAIN_TABLE),
        "incident page": (f"/admin/incidents/incident/{incident_id}/change/", INCIDENT_CARD),
        "dashboard": ("/admin/", DASHBOARD_CARD),
    }


def _measure_pages(sides: dict[int, dict]) -> dict[int, dict[str, dict]]:
    """Each page at every size, the sizes loaded in turn (one load of each, LIST_LOADS times,
    after a first one of each)."""
    measured: dict[int, dict[str, dict]] = {size: {} for size in sides}
    for name in _pages(0):
        loads: dict[int, list[dict]] = {size: [] for size in sides}
        for turn in range(LIST_LOADS + 1):
            for size, side in sides.items():
                path, main = _pages(side["world"]["incident"])[name]
                load = _load(side["pages"]["en"], f"{side['base']}{path}", main)
                if turn:  # the first load fills what the server keeps
                    loads[size].append(load)
        for size in sides:
            measured[size][name] = result = {
                "usable": median([load["usable"] for load in loads[size]]),
                "paint": median([load["paint"] for load in loads[size]]),
                "rows": loads[size][0]["rows"],
                "bytes": loads[size][0]["bytes"],
            }
            print(
                f"    {name:<14} at {size:>7,}: usable {result['usable'] * 1000:6.0f} ms  (first "
                f"paint {result['paint'] * 1000:5.0f} ms)  {result['bytes'] / 1024:6.0f} kB"
                + (f"  {result['rows']:4} rows" if _pages(0)[name][1] == MAIN_TABLE else "")
            )
    return measured


def _measure_rows(page, base: str, language: str) -> None:
    """Bytes a row of each list: the page of 200 rows against the page of 50, both with the
    same frame around their rows (the one-row page has no page links: against it, the page
    links of a large list would count as rows); in English, the time to a usable page of 50 and
    of 200 rows against the list filtered to one row."""
    for name, (path, key_cell) in LISTS.items():
        _load(page, f"{base}{path}", MAIN_TABLE)
        # The same page with one row: what the page costs without its rows.
        serial = page.locator(f"{MAIN_TABLE} tr.data-row {key_cell}").first.inner_text()
        one = [
            _load(page, f"{base}{path}?q={serial.strip()}", MAIN_TABLE) for _ in range(LIST_LOADS)
        ]
        one_usable = median([load["usable"] for load in one])
        pages = {}
        for size in (50, 200):
            loads = [
                _load(page, f"{base}{path}?per_page={size}", MAIN_TABLE) for _ in range(LIST_LOADS)
            ]
            pages[size] = loads[0]
            rows, usable = loads[0]["rows"], median([load["usable"] for load in loads])
            if language == LANGUAGES[0]:
                figure(
                    "lists",
                    f"{name} list, {rows} rows: usable",
                    usable * 1000,
                    "ms",
                    one_usable * 1000,
                    "one-row page",
                    "under 1000 ms" if size == 50 else "",
                    value_at_most=1000 if size == 50 else None,
                )
            print(
                f"    {name:<10} {rows:>3} rows, {language:<7} {loads[0]['bytes'] / 1024:6.0f} kB"
                f"   usable {usable * 1000:5.0f} ms ({usable / one_usable:.1f}x the one-row "
                f"page, {one_usable * 1000:.0f} ms)"
            )
        per_row = (pages[200]["bytes"] - pages[50]["bytes"]) / max(
            1, pages[200]["rows"] - pages[50]["rows"]
        )
        figure(
            "lists",
            f"{name} list, {language}: bytes a row",
            per_row,
            "B",
            goal="under 2048",
            value_at_most=2047,
        )
        print(f"    {name:<10} {language:<7} {per_row:6.0f} bytes a row (200 rows against 50)")


def _seed(size: int, folder: Path) -> dict:
    """A database of its own with `size` incidents, migrated, seeded and vacuumed, and the
    world of its pages: its URL, its server's environment, the time seeding took."""
    from scripts.servers import server_environment

    url, execute, drop = _lists_database(folder)
    env = server_environment(
        database_url=url, redis_url=settings.REDIS_URL, data_dir=folder, LOG_LEVEL="WARNING"
    )
    side = {"size": size, "env": env, "drop": drop, "folder": folder}
    try:
        _manage(env, "migrate", "--no-input")
        started = time.perf_counter()
        _manage(env, "seed_scale", "--incidents", str(size), "--seed", str(size))
        side["seconds"] = time.perf_counter() - started
        # What autovacuum would do to the fresh tables, done before measuring.
        execute("VACUUM ANALYZE")
        chosen = _python(
            env, "-c", "from scripts.bench.lists import print_world as p; p()", timeout=600
        )
    except BaseException:
        drop()
        raise
    side["world"] = json.loads(chosen.strip().splitlines()[-1])
    return side


def run() -> None:
    """The supervisor's pages in headless Chromium at the larger size of BENCH_LIST_SIZES
    against the same pages at the smaller, both served at once and loaded in turn; bytes a row
    of the lists in both languages at the larger."""
    import shutil
    import tempfile
    from concurrent.futures import ThreadPoolExecutor
    from contextlib import ExitStack

    from scripts.servers import app_servers

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("Lists: skipped (needs playwright)")
        return
    if not Path(chromium).exists():
        print("Lists: skipped (needs Chromium)")
        return
    if connection.vendor != "postgresql":
        print("Lists: measured on PostgreSQL only (seed_scale streams its rows with COPY)")
        return
    small, large = LIST_SIZES[0], LIST_SIZES[-1]
    sizes = sorted({small, large})
    print(
        f"Lists and pages (headless Chromium, uvicorn with DEBUG off, {connection.vendor}, "
        f"seed_scale data in a database for each size, one app process each, the sizes loaded "
        f"in turn; as a supervisor; median of {LIST_LOADS} loads after a first one; usable: "
        "first contentful paint and the main table or card present):"
    )
    sides: dict[int, dict] = {}
    try:
        # Both seeded at once: the smaller is done long before the larger.
        with ThreadPoolExecutor(len(sizes)) as pool:
            futures = {
                size: pool.submit(_seed, size, Path(tempfile.mkdtemp(prefix="bench-lists-")))
                for size in sizes
            }
            failed = None
            for size, future in futures.items():
                try:
                    sides[size] = future.result()
                except Exception as error:  # the other side is kept, to be dropped below
                    failed = error
            if failed is not None:
                raise failed
        for size, side in sides.items():
            print(
                f"  {size:,} incidents seeded in {side['seconds']:.0f} s; as "
                f"{side['world']['person']}, incident {side['world']['incident']}"
            )
        with ExitStack() as stack, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            for side in sides.values():
                (server,) = stack.enter_context(
                    app_servers(
                        1, env=side["env"], log_dir=side["folder"], extra_args=("--no-access-log",)
                    )
                )
                side["base"] = server.url
                side["pages"] = {}
                for language in LANGUAGES:
                    context = browser.new_context(viewport={"width": 1400, "height": 900})
                    context.add_cookies(
                        [
                            {
                                "name": "sessionid",
                                "value": side["world"]["session"],
                                "url": server.url,
                            },
                            {
                                "name": settings.LANGUAGE_COOKIE_NAME,
                                "value": language,
                                "url": server.url,
                            },
                        ]
                    )
                    context.add_init_script(_WATCH_MAIN)
                    side["pages"][language] = context.new_page()
            measured = _measure_pages(sides)
            for language in LANGUAGES:
                _measure_rows(sides[large]["pages"][language], sides[large]["base"], language)
            browser.close()
    finally:
        for side in sides.values():
            side["drop"]()
    if large != small:
        for name, result in measured[large].items():
            base = measured[small][name]
            figure(
                "lists",
                f"{name} at {large:,}, browser: usable",
                result["usable"] * 1000,
                "ms",
                base["usable"] * 1000,
                f"same at {small:,}",
                "at most 1.5x",
                ratio_at_most=1.5,
            )
            if base["rows"]:
                figure(
                    "lists",
                    f"{name} at {large:,}, browser: rows on the page",
                    result["rows"],
                    "",
                    base["rows"],
                    f"same at {small:,}",
                )
    print(
        f"  goals: each page usable at {large:,} within 1.5x of {small:,}; under 2 kB a row in "
        "both languages; usable under 1 s with 50 rows"
    )
