"""Imported ages on whatever database runs it: `python -m tests.incidents.imported_ages DIR` with
DATABASE_URL naming a new SQLite file migrates it, imports a workbook (into DIR) with one
incident past its first stage and one still reported, and prints as JSON what the product says
of their ages (tests/incidents/test_imported_ages.py holds the same on PostgreSQL)."""

import json
import os
import sys
from pathlib import Path


def cases(folder: Path) -> dict:
    from django.test import Client

    from incidents.choices import Verdict
    from incidents.dashboard import Scope, aging, every_figure, oldest_open
    from incidents.legacy.importer import ALL_LISTED, LegacyImporter
    from incidents.models import Incident
    from tests.factories import AdminFactory
    from tests.incidents.test_legacy_import import make_workbook, register_row
    from tests.incidents.test_legacy_reimport import walk_fae_retest

    path = make_workbook(
        folder / "ages.xlsx",
        register=[
            register_row("SN-FAE", stage="FAE复测", opened="2025-03-04 10:22"),
            register_row("SN-NEW", stage="产线上报", opened="2025-03-05 09:00"),
        ],
    )
    report = LegacyImporter(path, confirmed_people=ALL_LISTED).run()
    assert report.ok, [str(error) for error in report.errors]
    fae, reported = Incident.objects.order_by("device__serial_number")
    # Outside the test runner: a host the settings allow, and the English pages.
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(AdminFactory())
    listed = client.get("/admin/incidents/incident/").content.decode()
    dashboard = client.get("/admin/").content.decode()
    result = {
        "known": {"fae": fae.stage_entered_known, "reported": reported.stage_entered_known},
        "aging": {row["key"]: row["count"] for row in aging(Scope())},
        "left_out": every_figure(Scope(), True)["age_unknown"],
        "oldest": [incident.device.serial_number for incident in oldest_open(Scope())],
        "listed_unknown": listed.count("unknown (imported)"),
        "dashboard_says": "1 incident left out: imported without the time it entered its stage"
        in dashboard,
    }
    walk_fae_retest(fae, Verdict.FAIL)
    fae.refresh_from_db()
    result["after_change"] = {
        "known": fae.stage_entered_known,
        "left_out": every_figure(Scope(), True)["age_unknown"],
        "under_a_day": {row["key"]: row["count"] for row in aging(Scope())}["lt1d"],
    }
    return result


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(json.dumps(cases(Path(sys.argv[1]))))
