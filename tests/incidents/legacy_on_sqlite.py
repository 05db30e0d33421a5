"""A large legacy import on a real SQLite database (the embedded mode), in a process of its
own, while another thread keeps writing as people would: `python -m
tests.incidents.legacy_on_sqlite INCIDENTS` with DATABASE_URL naming a new SQLite file prints
as JSON how many of those writes succeeded, how many failed on the database's lock, the longest
wait, and what the import wrote. The write lock is held for one batch at a time, so every write
gets in between two (SQLite waits LOCK_SECONDS for the lock before failing)."""

import json
import os
import sys
import threading
import time
from pathlib import Path

LOCK_SECONDS = 2.5


def main(incidents: int) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.db import OperationalError, connection, connections

    # Every thread's connection waits at most this long for the write lock.
    connections.settings["default"].setdefault("OPTIONS", {})["timeout"] = LOCK_SECONDS
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from incidents.legacy.importer import ALL_LISTED, LegacyImporter
    from incidents.models import Employee, Incident
    from locations.models import Location
    from tests.incidents.test_legacy_jobs import big_workbook

    book = big_workbook(Path(os.environ["WORKBOOK_DIR"]) / "big.xlsx", incidents)
    admin = Employee.objects.create_superuser(
        username="root", employee_number="R1", password="unused"
    )
    connection.close()
    outcome = {}

    def run_import() -> None:
        try:
            started = time.monotonic()
            report = LegacyImporter(book, user=admin, confirmed_people=ALL_LISTED).run()
            outcome["errors"] = [str(error) for error in report.errors][:5]
            outcome["seconds"] = round(time.monotonic() - started, 1)
        except Exception as error:  # reported, not raised: the other thread must stop too
            outcome["failed"] = repr(error)
        finally:
            connections.close_all()

    importing = threading.Thread(target=run_import)
    importing.start()
    written, locked, longest, n = 0, 0, 0.0, 0
    while importing.is_alive():
        n += 1
        started = time.monotonic()
        try:
            Location.objects.create(code=f"W-{n}", name="written during the import")
            written += 1
        except OperationalError as error:
            if "locked" not in str(error):
                raise
            locked += 1
        longest = max(longest, time.monotonic() - started)
        time.sleep(0.05)
    importing.join()
    return {
        **outcome,
        "written": written,
        "locked": locked,
        "longest_wait": round(longest, 2),
        "incidents": Incident.objects.count(),
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]))))
