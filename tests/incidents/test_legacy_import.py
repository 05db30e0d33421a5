"""The legacy workbook importer against the factory's sample workbooks and small generated ones."""

import json
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from django.apps import apps
from django.core.management import call_command
from django.utils import timezone

from incidents.choices import Stage, WorkflowAction
from incidents.legacy.columns import STAGE_SYNONYMS, SheetKind, headers
from incidents.legacy.importer import LegacyImporter
from incidents.legacy.workbook import CellError, moment
from incidents.models import Department, Employee, Incident, ProjectAccess
from locations.choices import IMPORT_REASON
from locations.models import Device, Location
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

# The factory's sample workbooks live in shared/, beside the checkout (CI keeps a copy there).
SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"
GOOD, BAD = SAMPLES / "legacy_tracker.xlsx", SAMPLES / "legacy_tracker_bad.xlsx"
needs_samples = pytest.mark.skipif(
    not GOOD.exists(), reason="shared/samples is not beside the checkout"
)

EMPLOYEES = [
    tuple(headers(SheetKind.EMPLOYEES)),
    ("20001", "张三", "san.20001", "", "FAE", "主管"),
    ("20002", "李四", "si.20002", "", "QA", "员工"),
]
LOCATIONS = [tuple(headers(SheetKind.LOCATIONS)), ("L", "实验楼", None), ("L-1", "实验楼1层", "L")]
REGISTER_HEADER = tuple(headers(SheetKind.REGISTER))
TRAIL_HEADER = tuple(headers(SheetKind.TRAIL))


def register_row(
    serial, stage="FAE复测", opened="2025-03-04 10:22", holder="20001", location="L-1"
):
    return (
        1,
        serial,
        "Falcon",
        "EVT2",
        "1.2.3",
        "CFG-A",
        "RF",
        "BT_RSSI",
        "",
        "BUG-2025-0012",
        stage,
        holder,
        location,
        opened,
        "",
    )


def make_workbook(path: Path, register=(), trail=(), title_rows=True) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in (
        ("员工", EMPLOYEES),
        ("位置", LOCATIONS),
        ("异常设备登记", [REGISTER_HEADER, *register]),
        ("位置变更记录", [TRAIL_HEADER, *trail]),
    ):
        sheet = book.create_sheet(name)
        if title_rows and name in ("异常设备登记", "位置变更记录"):
            sheet.append([f"{name}（导出）"])
        for row in rows:
            sheet.append(list(row))
        sheet.append([None] * 5)  # blank trailing rows
        sheet.append([None] * 5)
    book.save(path)
    return path


def table_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


@needs_samples
class SampleWorkbookTests:
    def test_imports_exactly_the_counts_of_its_json_and_a_second_import_creates_nothing(self):
        expected = json.loads((SAMPLES / "legacy_tracker.json").read_text())

        first = LegacyImporter(GOOD).run()
        second = LegacyImporter(GOOD).run()

        assert first.ok, [str(e) for e in first.errors]
        created = {kind: s.created for kind, s in first.summaries.items()}
        assert created == {
            "employees": expected["employees"],
            "locations": expected["locations"],
            "register": expected["incidents"],
            "trail": expected["trail"],
        }
        assert Incident.objects.count() == expected["incidents"]
        assert all(s.created == s.updated == 0 for s in second.summaries.values())
        assert second.summaries["trail"].unchanged == expected["trail"]
        assert Incident.objects.count() == expected["incidents"]

    def test_bad_workbook_names_every_bad_row_and_changes_nothing(self):
        expected = json.loads((SAMPLES / "legacy_tracker_bad.json").read_text())
        before = table_counts()

        report = LegacyImporter(BAD).run()

        assert not report.ok
        named = sorted({(e.sheet, e.row) for e in report.errors})
        assert named == sorted(tuple(row) for row in expected["bad_rows"])
        assert all(str(e).startswith(f"{e.sheet}!{e.row}: ") for e in report.errors)
        assert table_counts() == before

    def test_command_exits_non_zero_and_prints_each_problem(self, capsys):
        with pytest.raises(SystemExit) as exit_info:
            call_command("import_legacy", str(BAD))

        assert exit_info.value.code == 1
        assert "异常设备登记!272: 登记时间:" in capsys.readouterr().err

    def test_dry_run_counts_and_changes_nothing(self):
        before = table_counts()

        report = LegacyImporter(GOOD).run(dry_run=True)

        assert report.ok and report.summaries["register"].created == 300
        assert table_counts() == before


class CellTests:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (datetime(2025, 3, 4, 10, 22), datetime(2025, 3, 4, 10, 22)),
            ("2025-03-04 10:22", datetime(2025, 3, 4, 10, 22)),
            ("2025/3/4", datetime(2025, 3, 4)),
            ("2025.03.04", datetime(2025, 3, 4)),
            (" 2025-03-04 ", datetime(2025, 3, 4)),
        ],
    )
    def test_every_date_form_reads_as_the_same_local_time(self, value, expected):
        assert moment(value) == timezone.make_aware(expected)

    @pytest.mark.parametrize("value", ["2025-13-45", "yesterday", "", None])
    def test_impossible_or_missing_dates_are_refused(self, value):
        with pytest.raises(CellError):
            moment(value)

    @pytest.mark.parametrize(
        ("legacy", "stage"),
        [
            ("产线上报", "reported"),
            ("产线fail", "reported"),
            ("待处理", "reported"),
            ("FAE复测", "fae_retest"),
            ("复测中", "fae_retest"),
            ("FAE初测", "fae_retest"),
            ("X-ray", "xray"),
            ("X-RAY", "xray"),
            ("X光检测", "xray"),
            ("EE分析", "ee_analysis"),
            ("电子分析", "ee_analysis"),
            ("ME分析", "me_analysis"),
            ("结构分析", "me_analysis"),
            ("FAE终测", "final_retest"),
            ("最终复测", "final_retest"),
            ("已回产线", "returned"),
            ("回流产线", "returned"),
            ("正常流", "returned"),
            ("已报废", "scrapped"),
            ("报废", "scrapped"),
        ],
    )
    def test_every_legacy_stage_name_maps_to_its_stage(self, legacy, stage, tmp_path):
        path = make_workbook(tmp_path / "w.xlsx", register=[register_row("SN-1", f"  {legacy} ")])

        report = LegacyImporter(path).run()

        assert report.ok, [str(e) for e in report.errors]
        assert STAGE_SYNONYMS[legacy.lower()] == stage
        assert Incident.objects.get(device__serial_number="SN-1").stage == stage


class GeneratedWorkbookTests:
    def test_stray_spaces_title_rows_and_blank_rows_are_handled(self, tmp_path):
        path = make_workbook(tmp_path / "w.xlsx", register=[register_row("  SN-SPACES  ")])

        report = LegacyImporter(path).run()

        assert report.ok
        assert Device.objects.filter(serial_number="SN-SPACES").exists()
        assert report.summaries["register"].created == 1

    def test_sheets_are_found_by_their_headers_when_renamed(self, tmp_path):
        path = make_workbook(tmp_path / "w.xlsx", register=[register_row("SN-1")])
        book = openpyxl.load_workbook(path)
        book["异常设备登记"].title = "Sheet3"
        book["员工"].title = "人员名单"
        book.save(path)

        report = LegacyImporter(path).run()

        assert report.ok, [str(e) for e in report.errors]
        assert report.sheet_titles["register"] == "Sheet3"
        assert Employee.objects.filter(employee_number="20001").exists()

    def test_departments_roles_and_parents_come_in(self, tmp_path):
        path = make_workbook(tmp_path / "w.xlsx")
        check = LegacyImporter(path).run(dry_run=True)
        # The roles the workbook gives are granted once confirmed, as listed by the check.
        LegacyImporter(path, confirmed_people=[c.key for c in check.people_changes]).run()

        lead = Employee.objects.get(employee_number="20001")
        assert lead.department.code == "FAE"
        assert lead in Department.objects.get(code="FAE").supervisors.all()
        assert Department.objects.filter(code="QA").exists()
        assert Location.objects.get(code="L-1").parent.code == "L"

    def test_incidents_keep_their_registration_date_and_trail_rows_are_back_dated(self, tmp_path):
        path = make_workbook(
            tmp_path / "w.xlsx",
            register=[register_row("SN-1", opened="2025/1/6")],
            trail=[("SN-1", "20002", "L", "2025-01-07 06:00", "送分析")],
        )

        LegacyImporter(path).run()

        incident = Incident.objects.get(device__serial_number="SN-1")
        assert incident.opened_at == timezone.make_aware(datetime(2025, 1, 6))
        entry = Device.objects.get(serial_number="SN-1").history.get(history_change_reason="送分析")
        assert entry.history_date == timezone.make_aware(datetime(2025, 1, 7, 6))
        assert entry.location.code == "L"
        assert entry.holder.employee_number == "20002"
        assert entry.history_user.employee_number == "20002"

    def test_a_newer_workbook_updates_what_changed_and_follows_the_stage(self, tmp_path):
        LegacyImporter(make_workbook(tmp_path / "a.xlsx", register=[register_row("SN-1")])).run()
        newer = make_workbook(tmp_path / "b.xlsx", register=[register_row("SN-1", stage="X-ray")])

        report = LegacyImporter(newer).run()

        incident = Incident.objects.get(device__serial_number="SN-1")
        assert report.summaries["register"].updated == 1
        assert incident.stage == Stage.XRAY
        assert incident.events.filter(action=WorkflowAction.IMPORT).exists()

    def test_every_kind_of_bad_row_is_reported_in_one_run(self, tmp_path):
        path = make_workbook(
            tmp_path / "w.xlsx",
            register=[
                register_row("SN-1"),
                register_row("SN-1"),
                register_row("SN-2", holder="99999"),
                register_row("SN-3", location="NOWHERE"),
                register_row("", opened="2025-02-30"),
            ],
            trail=[("SN-404", "20001", "L", "2025-01-07", "x")],
        )
        before = table_counts()

        report = LegacyImporter(path).run()

        messages = [str(e) for e in report.errors]
        assert any(
            "异常设备登记!4: 设备SN: SN-1 appears again (first on row 3)" in m for m in messages
        )
        assert any("异常设备登记!5: 责任人工号: no employee 99999" in m for m in messages)
        assert any("异常设备登记!6: 当前位置: no location NOWHERE" in m for m in messages)
        assert any("异常设备登记!7: 设备SN: a serial number is needed" in m for m in messages)
        assert any("异常设备登记!7: 登记时间: '2025-02-30' is not a date" in m for m in messages)
        assert any("位置变更记录!3: 设备SN: device SN-404" in m for m in messages)
        assert table_counts() == before


class HistoryWriteTests:
    @pytest.mark.parametrize("use_copy", [True, False], ids=["copy", "bulk-insert"])
    def test_both_ways_of_writing_history_give_the_same_trail(
        self, tmp_path, monkeypatch, use_copy
    ):
        from config.kit import bulk

        if use_copy and not bulk.use_copy():
            pytest.skip("COPY needs PostgreSQL")
        monkeypatch.setattr(bulk, "use_copy", lambda: use_copy)
        path = make_workbook(
            tmp_path / "w.xlsx",
            register=[register_row("SN-1", opened="2025/1/6")],
            trail=[
                ("SN-1", "20002", "L", "2025-01-07 06:00", "送分析"),
                ("SN-1", "20001", "L-1", "2025-01-08 09:30", "归还"),
            ],
        )

        LegacyImporter(path).run()

        device = Device.objects.get(serial_number="SN-1")
        trail = list(
            device.history.order_by("history_date").values_list(
                "history_type", "history_change_reason", "location__code", "holder__employee_number"
            )
        )
        assert trail == [
            ("+", IMPORT_REASON, "L-1", "20001"),
            ("~", "送分析", "L", "20002"),
            ("~", "归还", "L-1", "20001"),
        ]
        incident = Incident.objects.get(device=device)
        assert incident.history.get().history_date == incident.opened_at


class ConfidentialProjectTests:
    """Whoever imports in the product sees the projects the workbook writes and the devices it
    changes: a confidential project not open to them is refused, row by row, and nothing is
    written; the command line (administrators) and people the project is open to import it."""

    def test_a_workbook_writing_a_project_not_open_to_the_importer_is_refused(self, tmp_path):
        ProjectAccess.objects.create(project="FALCON")
        importer = StaffFactory()
        path = make_workbook(tmp_path / "w.xlsx", register=[register_row("SN-1")])
        before = table_counts()

        report = LegacyImporter(path, user=importer).run()

        assert not report.ok
        assert any(
            "project Falcon is confidential and not open to you" in str(error)
            and str(error).startswith(f"{error.sheet}!{error.row}: ")
            for error in report.errors
        )
        assert table_counts() == before

    def test_a_person_the_project_is_open_to_imports_it(self, tmp_path):
        importer = StaffFactory()
        ProjectAccess.objects.create(project="FALCON").people.add(importer)
        path = make_workbook(tmp_path / "w.xlsx", register=[register_row("SN-1")])

        report = LegacyImporter(path, user=importer).run()

        assert report.ok, [str(error) for error in report.errors]


class ProblemGroupCreationTests:
    def test_a_group_the_workbook_names_was_created_with_its_first_incident(self, tmp_path):
        path = make_workbook(
            tmp_path / "groups.xlsx",
            register=[
                register_row("SN-G2", opened="2025-03-09 08:00"),
                register_row("SN-G1", opened="2025-03-04 10:22"),
            ],
        )

        report = LegacyImporter(path).run()

        from incidents.models import ProblemGroup

        assert report.ok, report.errors
        group = ProblemGroup.objects.get(number="BUG-2025-0012")
        assert timezone.localtime(group.created_at).replace(tzinfo=None) == datetime(
            2025, 3, 4, 10, 22
        )
