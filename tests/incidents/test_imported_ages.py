"""Incidents imported from the legacy workbook past their first stage: the workbook does not say
when they entered it, so their age in stage is unknown, shown as such and counted nowhere, until
they really change stage in the product."""

import datetime
from importlib import import_module

import pytest
from django.apps import apps
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from incidents.choices import Stage, Step, Verdict, WorkflowAction
from incidents.dashboard import Scope, aging, every_figure, oldest_open, stage_cycle_times
from incidents.dashboard.periods import counted
from incidents.legacy.importer import ALL_LISTED, LegacyImporter
from incidents.models import Department, Incident, IncidentEvent
from incidents.resources import IncidentResource
from incidents.services.tokens import api_token_create
from tests.api.conftest import bearer
from tests.factories import AdminFactory, IncidentFactory, SupervisorFactory
from tests.incidents.test_dashboard import figure_links
from tests.incidents.test_legacy_import import make_workbook, register_row
from tests.incidents.test_legacy_reimport import walk_fae_retest
from tests.processes import migrated_sqlite, run_json

pytestmark = pytest.mark.django_db

UNKNOWN = "unknown (imported)"


def imported(tmp_path, *rows, name="w.xlsx") -> list[Incident]:
    path = make_workbook(tmp_path / name, register=list(rows))
    report = LegacyImporter(path, confirmed_people=ALL_LISTED).run()
    assert report.ok, [str(error) for error in report.errors]
    return list(Incident.objects.order_by("device__serial_number"))


@pytest.fixture
def fae_imported(tmp_path):
    """One incident imported in FAE retest (registered in 2025, no time it entered the stage)
    and one still reported (it entered that stage when it was registered)."""
    fae, reported = imported(
        tmp_path,
        register_row("SN-FAE", stage="FAE复测", opened="2025-03-04 10:22"),
        register_row("SN-NEW", stage="产线上报", opened="2025-03-05 09:00"),
    )
    return fae, reported


def admin_client() -> Client:
    client = Client()
    client.force_login(AdminFactory())
    return client


class ImportTests:
    def test_an_incident_imported_past_its_first_stage_has_no_known_age(self, fae_imported):
        fae, reported = fae_imported

        assert fae.stage == Stage.FAE_RETEST and not fae.stage_entered_known
        assert reported.stage == Stage.REPORTED and reported.stage_entered_known

    def test_a_later_workbook_moving_it_on_leaves_the_age_unknown(self, tmp_path):
        (incident,) = imported(tmp_path, register_row("SN-1", stage="产线上报"))
        assert incident.stage_entered_known

        imported(tmp_path, register_row("SN-1", stage="FAE复测"), name="newer.xlsx")

        incident.refresh_from_db()
        assert incident.stage == Stage.FAE_RETEST and not incident.stage_entered_known

    def test_a_real_stage_change_makes_the_age_known_again(self, fae_imported):
        fae, _reported = fae_imported

        walk_fae_retest(fae, Verdict.FAIL)

        fae.refresh_from_db()
        assert fae.stage == Stage.XRAY and fae.stage_entered_known
        assert timezone.now() - fae.stage_entered_at < datetime.timedelta(minutes=1)
        assert {row["key"]: row["count"] for row in aging(Scope())}["lt1d"] == 1
        assert every_figure(Scope(), True)["age_unknown"] == 0


@pytest.fixture(scope="module")
def on_sqlite(tmp_path_factory):
    database = migrated_sqlite(tmp_path_factory, "ages")
    return run_json(
        "tests.incidents.imported_ages", str(database.parent), database_url=f"sqlite:///{database}"
    )


def test_the_same_on_sqlite(on_sqlite):
    """The embedded database says the same as PostgreSQL of the two imported incidents."""
    assert on_sqlite["known"] == {"fae": False, "reported": True}
    assert on_sqlite["aging"] == {"lt1d": 0, "1to3d": 0, "3to7d": 0, "7to14d": 0, "gt14d": 1}
    assert on_sqlite["left_out"] == 1 and on_sqlite["dashboard_says"]
    assert on_sqlite["oldest"] == ["SN-NEW"]
    assert on_sqlite["listed_unknown"] == 1
    assert on_sqlite["after_change"] == {"known": True, "left_out": 0, "under_a_day": 1}


class PageTests:
    def test_the_list_and_the_incident_page_say_the_age_is_unknown(self, fae_imported):
        fae, reported = fae_imported
        client = admin_client()

        listed = client.get("/admin/incidents/incident/").content.decode()
        page = client.get(f"/admin/incidents/incident/{fae.pk}/change/").content.decode()
        known = client.get(f"/admin/incidents/incident/{reported.pk}/change/").content.decode()

        assert listed.count(UNKNOWN) == 1
        assert "time in this stage unknown (imported)" in page
        assert "in this stage for" not in page
        assert "in this stage for" in known
        # Its dates say so too, instead of the registration day the import put in its place:
        # the page's summary, and a past version's page, the only one listing the dates.
        assert UNKNOWN in page and UNKNOWN not in known
        version = fae.history.order_by("-history_id").first()
        past = client.get(
            f"/admin/incidents/incident/{fae.pk}/history/{version.history_id}/"
        ).content.decode()
        assert "2025" not in past.split("In stage since")[1].split("Closed at")[0]


class DashboardTests:
    def test_left_out_of_the_ageing_and_said_so(self, fae_imported):
        client = admin_client()

        counts = {row["key"]: row["count"] for row in aging(Scope())}
        page = client.get("/admin/").content.decode()
        links = figure_links(page)

        # Only the one still reported counts, over two weeks in its stage.
        assert counts == {"lt1d": 0, "1to3d": 0, "3to7d": 0, "7to14d": 0, "gt14d": 1}
        assert "1 incident left out: imported without the time it entered its stage" in page
        assert links["aged-unknown"][1] == 1
        assert [incident.device.serial_number for incident in oldest_open(Scope())] == ["SN-NEW"]
        for name, (url, shown) in links.items():
            assert client.get(url).context["cl"].result_count == shown, (name, url)

    def test_nothing_left_out_says_nothing(self, db):
        IncidentFactory(stage=Stage.FAE_RETEST)

        page = admin_client().get("/admin/").content.decode()

        assert "left out" not in page

    def test_time_in_stage_counts_no_visit_an_import_began_or_ended(self, tmp_path):
        fae, reported = imported(
            tmp_path,
            register_row("SN-FAE", stage="FAE复测", opened="2025-03-04 10:22"),
            register_row("SN-NEW", stage="产线上报", opened="2025-03-05 09:00"),
        )
        # A newer workbook moves the reported one on: its visit of "reported" ended at the
        # import, not when it really left.
        imported(
            tmp_path,
            register_row("SN-FAE", stage="FAE复测", opened="2025-03-04 10:22"),
            register_row("SN-NEW", stage="FAE复测", opened="2025-03-05 09:00"),
            name="newer.xlsx",
        )
        for incident in (fae, reported):
            walk_fae_retest(Incident.objects.get(pk=incident.pk), Verdict.FAIL)

        visits = IncidentEvent.objects.filter(left_at__isnull=False)
        cycle = {row["stage"]: row["count"] for row in stage_cycle_times(Scope())}

        assert not visits.exists()
        assert cycle[Stage.FAE_RETEST] == 0 and cycle[Stage.REPORTED] == 0

    def test_periods_put_together_count_the_same(self, db, settings):
        settings.DASHBOARD_FIGURES_SECONDS = 120
        now = timezone.now()
        for days, known, stage in (
            (30, False, Stage.FAE_RETEST),
            (20, True, Stage.FAE_RETEST),
            (10, False, Stage.RETURNED),
            (5, True, Stage.RETURNED),
        ):
            at = now - datetime.timedelta(days=days)
            closed = stage == Stage.RETURNED
            IncidentFactory(
                stage=stage,
                step=Step.CLOSED if closed else Step.UNASSIGNED,
                opened_at=at,
                stage_entered_at=at,
                closed_at=at + datetime.timedelta(hours=5) if closed else None,
                stage_entered_known=known,
            )
        start = (now - datetime.timedelta(days=40)).date().isoformat()
        scope = Scope.from_params({"opened_from": start})

        assembled = counted(scope, True, ("version", 1)).figures
        direct = every_figure(scope, True)

        assert assembled["age_unknown"] == direct["age_unknown"] == 1
        assert assembled["aging"] == direct["aging"]
        assert [i.pk for i in assembled["oldest"]] == [i.pk for i in direct["oldest"]]
        assert len(direct["oldest"]) == 1
        assert assembled["end_to_end"] == direct["end_to_end"]
        returned = {row["stage"]: row["count"] for row in direct["end_to_end"]}
        assert returned[Stage.RETURNED] == 1


class DigestTests:
    def test_the_overdue_list_leaves_it_out(self, fae_imported, settings):
        settings.DIGEST_OVERDUE_DAYS = 3
        fae = Department.objects.get(code="FAE")
        lead = SupervisorFactory(department=fae, email="fae@example.com", language="en")
        fae.supervisors.add(lead)
        IncidentFactory(
            stage=Stage.FAE_RETEST,
            stage_entered_at=timezone.now() - datetime.timedelta(days=5),
            device__serial_number="SN-OVERDUE",
        )

        call_command("send_digest")

        body = "".join(message.body for message in mail.outbox)
        assert "SN-OVERDUE" in body
        assert "SN-FAE" not in body


class ExportAndApiTests:
    def test_the_export_leaves_the_days_in_stage_empty(self, fae_imported):
        rows = {row["Serial number"]: row for row in IncidentResource().export().dict}

        assert rows["SN-FAE"]["Days in stage"] in (None, "")
        assert rows["SN-NEW"]["Days in stage"] > 100

    def test_the_api_answers_null(self, fae_imported):
        fae, reported = fae_imported
        _token, secret = api_token_create(name="MES", scopes=["incidents:read"])
        machine = bearer(secret)

        unknown = machine.get(f"/api/v1/incidents/{fae.pk}/").json()
        known = machine.get(f"/api/v1/incidents/{reported.pk}/").json()

        assert unknown["stage_entered_at"] is None
        assert known["stage_entered_at"].startswith("2025-03-05")


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="a schema editor inside the test's transaction needs PostgreSQL",
)
class MigrationTests:
    def test_marks_only_open_imports_never_moved_since(self, tmp_path):
        moved, fae, reported, moved_by_import = imported(
            tmp_path,
            register_row("SN-A", stage="FAE复测", opened="2025-03-04 10:22"),
            register_row("SN-B", stage="FAE复测", opened="2025-03-04 10:22"),
            register_row("SN-C", stage="产线上报", opened="2025-03-05 09:00"),
            register_row("SN-D", stage="产线上报", opened="2025-03-05 09:00"),
        )
        imported(
            tmp_path,
            register_row("SN-D", stage="X-ray", opened="2025-03-05 09:00"),
            name="newer.xlsx",
        )
        walk_fae_retest(moved, Verdict.FAIL)
        opened_here = IncidentFactory(stage=Stage.FAE_RETEST)
        IncidentEvent.objects.create(
            incident=opened_here,
            action=WorkflowAction.OPEN,
            from_stage=Stage.FAE_RETEST,
            to_stage=Stage.FAE_RETEST,
        )
        Incident.objects.update(stage_entered_known=True)
        IncidentEvent.objects.update(left_at=None)
        migration = import_module("incidents.migrations.0039_incident_stage_entered_known")

        with connection.schema_editor() as editor:
            migration.mark_imported_ages_unknown(apps, editor)
            migration.forget_imported_visit_ends(apps, editor)

        unknown = set(
            Incident.objects.filter(stage_entered_known=False).values_list(
                "device__serial_number", flat=True
            )
        )
        # SN-A moved on in the product, SN-C is still in the stage it was registered in, the
        # last one was opened in the product.
        assert unknown == {fae.device.serial_number, moved_by_import.device.serial_number}
        assert reported.stage == Stage.REPORTED
        # Every visit ended so far was begun or ended by an import: none has a known length.
        assert IncidentEvent.objects.filter(to_stage=Stage.FAE_RETEST, incident=moved).exists()
        assert not IncidentEvent.objects.filter(left_at__isnull=False).exists()


class HostileFilterTests:
    @pytest.mark.parametrize(
        "query",
        ["unknown%00", "x" * 5000, "%ED%A0%80", "unknown&aged=gt14d", "%5B%5D", "-1", "UNKNOWN"],
    )
    def test_the_list_filter_of_the_left_out_never_fails(self, fae_imported, query):
        listed = admin_client().get(f"/admin/incidents/incident/?state=open&aged={query}")

        assert listed.status_code in (200, 302, 400)
        if listed.status_code == 200 and query.startswith("UNKNOWN"):
            # Only the exact name lists the left out: nothing narrowed otherwise.
            assert listed.context["cl"].result_count == 2
