"""Section `lists`: the incident and device lists in headless Chromium, served by uvicorn with
DEBUG off on a database of their own holding the demo data: HTML bytes per row and the time to a
usable page (50 and 200 rows), against the same list filtered to one row."""

import os
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

from scripts.bench.figures import figure, median
from scripts.servers import ROOT

LIST_LOADS = int(os.environ.get("BENCH_LIST_LOADS", "5"))
# Each list, and the cell whose text finds its row by the list's search.
LISTS = {
    "incidents": ("/admin/incidents/incident/", "td.field-device a"),
    "devices": ("/admin/locations/device/", "th.field-serial_number a"),
}


def _lists_database(folder: Path) -> tuple[str, object]:
    """A database of its own for the server, with the demo data `make run` loads: the figures
    are those of the demo whatever other sections wrote. Returns its URL and a function that
    drops it."""
    import uuid

    from scripts.servers import database_url

    config = connection.settings_dict
    if connection.vendor != "postgresql":
        return f"sqlite:///{folder / 'lists.sqlite3'}", lambda: None
    import psycopg

    name = f"adt_bench_lists_{uuid.uuid4().hex[:8]}"

    def admin_connection():
        return psycopg.connect(
            host=config["HOST"] or "127.0.0.1",
            port=config["PORT"] or 5432,
            user=config["USER"],
            password=config["PASSWORD"],
            dbname="postgres",
            autocommit=True,
        )

    with admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return database_url({**config, "NAME": name}), drop


def _page_figures(page, url: str) -> dict:
    """One load of `url`: the document's bytes, its rows, and when it became usable (HTML
    parsed, styles applied, deferred scripts run: DOMContentLoaded) and complete (load)."""
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok, f"{url}: {response and response.status}"
    timing = page.evaluate(
        "() => { const t = performance.getEntriesByType('navigation')[0];"
        " return [t.domContentLoadedEventEnd, t.loadEventEnd]; }"
    )
    return {
        "bytes": len(response.body()),
        "rows": page.locator("#result_list tr.data-row").count(),
        "usable": timing[0] / 1000,
        "complete": timing[1] / 1000,
    }


def run() -> None:
    """The incident and device lists as a supervisor sees them in headless Chromium, served by
    uvicorn with DEBUG off on the demo data: HTML bytes per row, and the time to a usable page
    against the same list filtered to one row, measured in the same run."""
    import shutil
    import subprocess
    import tempfile

    from scripts.servers import app_servers, server_environment

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("Lists: skipped (needs playwright)")
        return
    if not Path(chromium).exists():
        print("Lists: skipped (needs Chromium)")
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-lists-"))
    url, drop = _lists_database(folder)
    env = server_environment(
        database_url=url, redis_url=settings.REDIS_URL, data_dir=folder, LOG_LEVEL="WARNING"
    )
    try:
        for command in (["migrate", "--no-input"], ["seed_demo"]):
            subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                timeout=600,
            )
        with (
            app_servers(1, env=env, log_dir=folder, extra_args=("--no-access-log",)) as servers,
            sync_playwright() as playwright,
        ):
            base = servers[0].url
            browser = playwright.chromium.launch(
                executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{base}/admin/login/")
            page.fill("input[name=username]", "fae_lead")
            page.fill("input[name=password]", "demo")
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/admin/")
            print(
                f"Lists (headless Chromium, uvicorn with DEBUG off, {connection.vendor}, demo "
                f"data, as a supervisor; median of {LIST_LOADS} loads after a first one):"
            )
            for name, (path, key_cell) in LISTS.items():
                first = _page_figures(page, f"{base}{path}")
                # The same page with one row: what the page costs without its rows.
                serial = page.locator(f"#result_list tr.data-row {key_cell}").first.inner_text()
                one = [
                    _page_figures(page, f"{base}{path}?q={serial.strip()}")
                    for _ in range(LIST_LOADS)
                ]
                for size in (50, 200):
                    loads = [
                        _page_figures(page, f"{base}{path}?per_page={size}")
                        for _ in range(LIST_LOADS)
                    ]
                    rows = loads[0]["rows"]
                    per_row = (loads[0]["bytes"] - one[0]["bytes"]) / max(1, rows - one[0]["rows"])
                    usable = median([load["usable"] for load in loads])
                    figure(
                        "lists",
                        f"{name} list, {rows} rows: bytes a row",
                        per_row,
                        "B",
                        goal="under 2048",
                    )
                    figure(
                        "lists",
                        f"{name} list, {rows} rows: usable",
                        usable * 1000,
                        "ms",
                        median([load["usable"] for load in one]) * 1000,
                        "one-row page",
                        "under 1000 ms" if size == 50 else "",
                    )
                    print(
                        f"  {name:<10} {rows:>3} rows  {loads[0]['bytes'] / 1024:7.0f} kB  "
                        f"{per_row / 1024:5.2f} kB a row   usable {usable * 1000:5.0f} ms, "
                        f"complete {median([load['complete'] for load in loads]) * 1000:5.0f} ms"
                        f"   ({usable / median([load['usable'] for load in one]):.1f}x the "
                        "one-row page)"
                    )
                print(
                    f"  {name:<10} first load {first['usable'] * 1000:5.0f} ms usable; one-row "
                    f"page {median([load['usable'] for load in one]) * 1000:5.0f} ms"
                )
            browser.close()
        print("  goal: under 2 kB a row, usable under 1 s with 50 rows")
    finally:
        drop()
