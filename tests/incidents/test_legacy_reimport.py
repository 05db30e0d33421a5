"""Re-importing legacy workbooks after cut-over: the product is the source of truth. Also what a
dry run must not do, and what the importer refuses that the screens refuse."""

import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from incidents.choices import Role, Stage, Verdict, WorkflowAction
from incidents.legacy.importer import ALL_LISTED, LegacyImporter
from incidents.models import Department, Employee, Incident
from incidents.services import (
    analysis_result_add,
    incident_approve,
    incident_assign,
    incident_submit,
    operation_record_add,
)
from locations.choices import IMPORT_REASON
from locations.models import Device, Location
from locations.services import device_move
from tests.factories import LocationFactory, StaffFactory
from tests.incidents.test_legacy_import import (
    EMPLOYEES,
    LOCATIONS,
    make_workbook,
    register_row,
    table_counts,
)

pytestmark = pytest.mark.django_db


def run(path, dry_run=False):
    return LegacyImporter(path).run(dry_run=dry_run)


def imported(tmp_path, name="first.xlsx", **rows) -> Incident:
    """The first import, its changes to people (the roles it grants) confirmed."""
    path = make_workbook(tmp_path / name, **rows)
    report = LegacyImporter(path, confirmed_people=ALL_LISTED).run()
    assert report.ok, report.errors
    return Incident.objects.get()


def walk_fae_retest(incident: Incident, verdict: Verdict) -> Incident:
    """The FAE retest stage worked and approved in the product."""
    fae = Department.objects.get(code="FAE")
    supervisor, worker = Employee.objects.get(employee_number="20001"), StaffFactory(department=fae)
    reviewer = StaffFactory(department=fae)
    fae.supervisors.add(reviewer)
    incident_assign(incident=incident, assignee=worker, by=supervisor)
    operation_record_add(incident=incident, by=worker, action="Retest")
    analysis_result_add(incident=incident, by=worker, findings="Found", verdict=verdict)
    incident_submit(incident=incident, by=worker)
    return incident_approve(incident=incident, by=reviewer)


class ProductIsTheSourceOfTruthTests:
    def test_an_old_workbook_never_moves_an_incident_backwards(self, tmp_path):
        incident = imported(tmp_path, register=[register_row("SN1", stage="X-ray")])

        report = run(make_workbook(tmp_path / "old.xlsx", register=[register_row("SN1")]))

        incident.refresh_from_db()
        assert incident.stage == Stage.XRAY
        assert report.summaries["register"].skipped == 1
        assert "would move it backwards" in str(report.skipped[0])
        assert str(report.skipped[0]).startswith("异常设备登记!3: ")

    def test_an_old_workbook_never_reopens_a_closed_incident(self, tmp_path):
        incident = imported(tmp_path, register=[register_row("SN1", stage="已回产线")])

        report = run(make_workbook(tmp_path / "old.xlsx", register=[register_row("SN1")]))

        incident.refresh_from_db()
        assert incident.stage == Stage.RETURNED
        assert "cannot reopen it" in str(report.skipped[0])

    def test_a_workbook_never_overrides_work_done_in_the_product(self, tmp_path):
        incident = imported(tmp_path, register=[register_row("SN1")])
        walk_fae_retest(incident, Verdict.FAIL)
        events = incident.events.count()

        # The same workbook, edited later elsewhere, says the retest passed (returned).
        report = run(
            make_workbook(tmp_path / "later.xlsx", register=[register_row("SN1", stage="已回产线")])
        )

        incident.refresh_from_db()
        assert incident.stage == Stage.XRAY
        assert incident.events.count() == events
        assert "worked on in the product since it was imported" in str(report.skipped[0])

    def test_the_dry_run_reports_the_same_skipped_rows(self, tmp_path):
        imported(tmp_path, register=[register_row("SN1", stage="X-ray")])
        old = make_workbook(tmp_path / "old.xlsx", register=[register_row("SN1")])

        dry = run(old, dry_run=True)
        real = run(old)

        assert [str(line) for line in dry.skipped] == [str(line) for line in real.skipped]
        assert dry.summaries["register"].skipped == real.summaries["register"].skipped == 1

    def test_a_newer_workbook_still_moves_an_untouched_incident_forward(self, tmp_path):
        incident = imported(tmp_path, register=[register_row("SN1")])

        report = run(
            make_workbook(tmp_path / "newer.xlsx", register=[register_row("SN1", stage="X-ray")])
        )

        incident.refresh_from_db()
        assert incident.stage == Stage.XRAY
        assert not report.skipped
        assert incident.events.filter(action=WorkflowAction.IMPORT).count() == 1

    def test_a_device_moved_in_the_product_is_not_moved_back(self, tmp_path):
        imported(tmp_path, register=[register_row("SN1", location="L-1")])
        device = Device.objects.get(serial_number="SN1")
        shelf = LocationFactory(code="SHELF-9")
        device_move(device=device, moved_by=None, location=shelf, reason="scan")

        report = run(
            make_workbook(tmp_path / "old.xlsx", register=[register_row("SN1", location="L")])
        )

        device.refresh_from_db()
        assert device.location == shelf
        assert "moved or changed in the product" in str(report.skipped[0])


class EmptyCellsAndHistoryTests:
    def test_empty_cells_leave_values_and_changes_are_kept_in_history(self, tmp_path):
        imported(tmp_path, register=[register_row("SN1", location="L-1")])
        device = Device.objects.get(serial_number="SN1")
        history_before = device.history.count()
        row = list(register_row("SN1", holder="", location=""))
        row[2] = ""  # project
        row[3] = "DVT1"  # hardware version

        report = run(make_workbook(tmp_path / "second.xlsx", register=[tuple(row)]))

        assert report.ok, report.errors
        device.refresh_from_db()
        assert (device.project, device.hardware_version) == ("Falcon", "DVT1")
        assert device.location.code == "L-1"
        assert device.holder.employee_number == "20001"
        assert device.history.count() == history_before + 1
        assert device.history.first().history_change_reason == IMPORT_REASON

    def test_a_changed_description_is_saved_with_history(self, tmp_path):
        incident = imported(tmp_path, register=[register_row("SN1")])
        row = list(register_row("SN1"))
        row[-1] = "Reflowed once"

        run(make_workbook(tmp_path / "second.xlsx", register=[tuple(row)]))

        incident.refresh_from_db()
        assert incident.description == "Reflowed once"
        assert incident.history.first().description == "Reflowed once"


class AdministratorsAreARoleTests:
    def test_an_administrator_from_the_workbook_is_not_a_superuser(self, tmp_path, monkeypatch):
        monkeypatch.setattr(
            "tests.incidents.test_legacy_import.EMPLOYEES",
            [*EMPLOYEES, ("20009", "王五", "wu.20009", "", "", "管理员")],
        )
        import tests.incidents.test_legacy_import as module

        LegacyImporter(
            module.make_workbook(tmp_path / "admins.xlsx"), confirmed_people=ALL_LISTED
        ).run()

        person = Employee.objects.get(employee_number="20009")
        assert not person.is_superuser
        assert person.has_role(Role.ADMIN)
        assert person.has_perm("incidents.change_department")


class LocationLoopTests:
    def test_a_loop_inside_the_workbook_names_its_rows(self, tmp_path, monkeypatch):
        import tests.incidents.test_legacy_import as module

        monkeypatch.setattr(
            module, "LOCATIONS", [LOCATIONS[0], ("A", "A", "B"), ("B", "B", "A"), ("C", "C", "A")]
        )

        report = run(module.make_workbook(tmp_path / "loop.xlsx"))

        assert not report.ok
        messages = [str(error) for error in report.errors]
        assert any(m.startswith("位置!2: 上级位置编码: its parents go round") for m in messages)
        assert any(m.startswith("位置!3: ") and "loop" in m for m in messages)
        assert not Location.objects.filter(code__in=["A", "B", "C"]).exists()

    def test_a_loop_with_the_database_is_refused(self, tmp_path, monkeypatch):
        import tests.incidents.test_legacy_import as module

        a = LocationFactory(code="A")
        LocationFactory(code="B", parent=a)
        monkeypatch.setattr(module, "LOCATIONS", [LOCATIONS[0], ("A", "A", "B")])

        report = run(module.make_workbook(tmp_path / "loop.xlsx"))

        assert not report.ok
        a.refresh_from_db()
        assert a.parent is None

    def test_an_unknown_parent_is_an_error_not_a_cleared_parent(self, tmp_path, monkeypatch):
        import tests.incidents.test_legacy_import as module

        monkeypatch.setattr(module, "LOCATIONS", [LOCATIONS[0], ("A", "A", "NOWHERE")])

        report = run(module.make_workbook(tmp_path / "unknown.xlsx"))

        assert [str(e) for e in report.errors] == [
            "位置!2: 上级位置编码: "
            "no location NOWHERE (neither in this workbook nor in the database)"
        ]


class DryRunTests:
    def test_a_dry_run_writes_nothing_at_all(self, tmp_path):
        imported(tmp_path, register=[register_row("SN1")])
        newer = make_workbook(
            tmp_path / "newer.xlsx",
            register=[register_row("SN1", stage="X-ray", location="L"), register_row("SN2")],
        )
        before = table_counts()

        with CaptureQueriesContext(connection) as queries:
            report = run(newer, dry_run=True)

        writes = [
            q["sql"]
            for q in queries.captured_queries
            if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "COPY"))
        ]
        assert writes == []
        assert report.summaries["register"].created == 1
        assert report.summaries["register"].updated == 1
        assert table_counts() == before


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.postgres(reason="waits on row locks with PostgreSQL's lock_timeout")
class DryRunLocksTests:
    def test_a_device_can_be_scanned_while_a_dry_run_checks(self, tmp_path):
        imported(tmp_path, register=[register_row("SN1", location="L-1")])
        workbook = make_workbook(
            tmp_path / "newer.xlsx", register=[register_row("SN1", location="L")]
        )
        paused, resume = threading.Event(), threading.Event()

        def progress(kind, done, total):
            # The dry run's last word: everything it would do is worked out by then.
            if kind == "trail" and done == total:
                paused.set()
                resume.wait(10)

        def dry_run():
            try:
                LegacyImporter(workbook, progress=progress).run(dry_run=True)
            finally:
                paused.set()
                connection.close()

        worker = threading.Thread(target=dry_run)
        worker.start()
        try:
            assert paused.wait(10)
            shelf = LocationFactory(code="SCAN-HERE")
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '2s'")
                device = Device.objects.get(serial_number="SN1")
                device_move(device=device, moved_by=None, location=shelf, reason="scan")
        finally:
            resume.set()
            worker.join(20)
        assert Device.objects.get(serial_number="SN1").location.code == "SCAN-HERE"


class FormulaCellTests:
    def test_a_formula_cell_is_read_as_its_text(self, tmp_path):
        row = list(register_row("SN1"))
        row[-1] = '=HYPERLINK("http://evil.example","click")'

        run(make_workbook(tmp_path / "formula.xlsx", register=[tuple(row)]))

        assert Incident.objects.get().description == '=HYPERLINK("http://evil.example","click")'


class SkippedRowsReportTests:
    def test_the_command_lists_skipped_rows(self, tmp_path, capsys):
        from django.core.management import call_command

        imported(tmp_path, register=[register_row("SN1", stage="X-ray")])

        call_command(
            "import_legacy", str(make_workbook(tmp_path / "old.xlsx", [register_row("SN1")]))
        )

        out = capsys.readouterr().out
        assert "1 row(s) left as they are" in out
        assert "would move it backwards" in out

    def test_the_job_page_lists_skipped_rows(self, tmp_path, admin_client):
        from incidents.models import LegacyImport
        from incidents.services.legacy import _report_data

        imported(tmp_path, register=[register_row("SN1", stage="X-ray")])
        report = run(make_workbook(tmp_path / "old.xlsx", register=[register_row("SN1")]))
        job = LegacyImport.objects.create(
            original_name="old.xlsx",
            created_by=Employee.objects.first(),
            status="done",
            report=_report_data(report),
        )

        page = admin_client.get(f"/admin/incidents/legacyimport/{job.pk}/change/")

        html = page.content.decode()
        assert 'data-testid="legacy-skipped"' in html
        assert "would move it backwards" in html
