"""A legacy workbook never silently rewrites people: a change to someone already in the product
(name, e-mail, department) and any role are listed field by field and made only once confirmed
for that import, by the rules of the person's page. Also the guard of the legacy stage move, and
the failure each register row brings to its own incident."""

from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from incidents.choices import Stage, Verdict
from incidents.legacy.columns import SheetKind, headers
from incidents.legacy.importer import ALL_LISTED, LegacyImporter
from incidents.models import Department, Employee, Incident
from incidents.services import WorkflowError, employee_build, employee_create
from incidents.services.people import employees_import
from incidents.services.workflow import incident_import_stage
from locations.models import Device
from tests.factories import AdminFactory, SuperuserFactory
from tests.incidents.test_legacy_import import (
    LOCATIONS,
    REGISTER_HEADER,
    TRAIL_HEADER,
    register_row,
    table_counts,
)
from tests.incidents.test_legacy_reimport import imported, walk_fae_retest

pytestmark = pytest.mark.django_db

EMPLOYEE_HEADER = tuple(headers(SheetKind.EMPLOYEES))


def workbook(path: Path, employees=(), register=()) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in (
        ("员工", [EMPLOYEE_HEADER, *employees]),
        ("位置", LOCATIONS),
        ("异常设备登记", [REGISTER_HEADER, *register]),
        ("位置变更记录", [TRAIL_HEADER]),
    ):
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
    book.save(path)
    return path


@pytest.fixture
def product_people():
    """People set up in the product before the legacy workbook comes in."""
    qa = Department.objects.create(code="QA", name="Quality")
    fae = Department.objects.get(code="FAE")
    person = employee_create(
        employee_number="20001", username="zhang", display_name="Zhang San", department=qa
    )
    return person, qa, fae


# The workbook renames 20001, moves them to FAE and makes them its supervisor; 20002 is new.
ROWS = [
    ("20001", "张三", "san.20001", "", "FAE", "主管"),
    ("20002", "李四", "si.20002", "", "QA", "员工"),
]


def state(person: Employee) -> tuple:
    person.refresh_from_db()
    roles = sorted(person.groups.values_list("name", flat=True))
    return person.display_name, person.department.code, roles


class ProductPeopleAreLeftAloneTests:
    def test_by_default_nobody_changes_and_each_change_is_listed_with_the_reason(
        self, tmp_path, product_people
    ):
        person, _qa, fae = product_people
        path = workbook(tmp_path / "w.xlsx", employees=ROWS)

        check = LegacyImporter(path).run(dry_run=True)
        report = LegacyImporter(path).run()

        assert report.ok, [str(e) for e in report.errors]
        assert state(person) == ("Zhang San", "QA", ["staff"])
        assert person not in fae.supervisors.all()
        listed = [str(change) for change in check.people_changes]
        assert listed == [
            "员工!2: Zhang San (20001): 姓名: Zhang San → 张三",
            "员工!2: Zhang San (20001): 部门: Quality (QA) → FAE",
            "员工!2: Zhang San (20001): 角色: Staff → Staff, Supervisor (supervises FAE)",
        ]
        assert [str(change) for change in report.people_changes] == listed
        assert not any(change.applied for change in report.people_changes)
        skipped = [str(line) for line in report.skipped]
        assert skipped == [
            "员工!2: 姓名: Zhang San (20001) is already in the product: the workbook changes "
            "nobody there (nor their roles) unless the changes listed for them are confirmed "
            "for this import"
        ]
        summary = report.summaries["employees"]
        assert (summary.created, summary.updated, summary.skipped) == (1, 0, 1)
        # The new person came in, as staff.
        assert state(Employee.objects.get(employee_number="20002")) == ("李四", "QA", ["staff"])

    def test_confirmed_the_listed_changes_are_made(self, tmp_path, product_people):
        person, _qa, fae = product_people
        path = workbook(tmp_path / "w.xlsx", employees=ROWS)
        check = LegacyImporter(path).run(dry_run=True)

        report = LegacyImporter(
            path, confirmed_people=[change.key for change in check.people_changes]
        ).run()

        assert report.ok
        assert not report.skipped
        assert all(change.applied for change in report.people_changes)
        assert state(person) == ("张三", "FAE", ["staff", "supervisor"])
        assert person in fae.supervisors.all()
        assert report.summaries["employees"].updated == 1

    def test_only_the_changes_confirmed_are_made(self, tmp_path, product_people):
        person, _qa, fae = product_people
        path = workbook(tmp_path / "w.xlsx", employees=ROWS)
        check = LegacyImporter(path).run(dry_run=True)
        name_change = next(c for c in check.people_changes if c.column == "姓名")

        report = LegacyImporter(path, confirmed_people=[name_change.key]).run()

        assert state(person) == ("张三", "QA", ["staff"])
        assert person not in fae.supervisors.all()
        assert [c.column for c in report.people_changes if c.applied] == ["姓名"]
        assert len(report.skipped) == 2
        assert all("not among the changes confirmed" in str(line) for line in report.skipped)

    def test_a_change_made_in_the_product_after_the_check_is_not_made(
        self, tmp_path, product_people
    ):
        person, _qa, _fae = product_people
        path = workbook(tmp_path / "w.xlsx", employees=ROWS)
        check = LegacyImporter(path).run(dry_run=True)
        Employee.objects.filter(pk=person.pk).update(display_name="Zhang San Jr")

        LegacyImporter(path, confirmed_people=[c.key for c in check.people_changes]).run()

        person.refresh_from_db()
        assert person.display_name == "Zhang San Jr"

    def test_roles_are_not_granted_without_confirmation(self, tmp_path):
        rows = [("20003", "王五", "", "", "FAE", "主管"), ("20004", "赵六", "", "", "", "管理员")]
        path = workbook(tmp_path / "w.xlsx", employees=rows)

        report = LegacyImporter(path).run()

        lead = Employee.objects.get(employee_number="20003")
        admin = Employee.objects.get(employee_number="20004")
        assert sorted(lead.groups.values_list("name", flat=True)) == ["staff"]
        assert sorted(admin.groups.values_list("name", flat=True)) == ["staff"]
        assert not Department.objects.get(code="FAE").supervisors.exists()
        assert not admin.has_perm("incidents.change_department")
        assert [str(c) for c in report.people_changes] == [
            "员工!2: 王五 (20003): 角色: — → Supervisor (supervises FAE)",
            "员工!3: 赵六 (20004): 角色: — → Administrator",
        ]
        assert all("comes in as staff" in str(line) for line in report.skipped)
        # A second import of the same workbook grants nothing either, and says so again.
        again = LegacyImporter(path).run()
        assert sorted(lead.groups.values_list("name", flat=True)) == ["staff"]
        assert len(again.skipped) == 2


class SuperusersTests:
    def test_someone_who_is_not_a_superuser_never_changes_a_superuser(self, tmp_path):
        root = SuperuserFactory(employee_number="20001", display_name="Root")
        path = workbook(tmp_path / "w.xlsx", employees=ROWS)

        report = LegacyImporter(path, user=AdminFactory(), confirmed_people=ALL_LISTED).run()

        assert report.ok
        root.refresh_from_db()
        assert (root.display_name, root.department) == ("Root", None)
        assert not root.groups.exists()
        assert any(
            str(line).startswith("员工!2: 工号: Only a superuser can change Root (20001)")
            for line in report.skipped
        )
        assert not any(change.applied for change in report.people_changes if "20001" in change.key)

    def test_a_superuser_may_change_a_superuser_once_confirmed(self, tmp_path):
        root = SuperuserFactory(employee_number="20001", display_name="Root")
        path = workbook(tmp_path / "w.xlsx", employees=ROWS)

        LegacyImporter(path, user=SuperuserFactory(), confirmed_people=ALL_LISTED).run()

        root.refresh_from_db()
        assert (root.display_name, root.department.code) == ("张三", "FAE")


class InactiveDepartmentTests:
    @pytest.mark.parametrize("confirmed", [None, ALL_LISTED], ids=["default", "confirmed"])
    def test_nobody_is_moved_into_an_inactive_department(self, tmp_path, product_people, confirmed):
        person, _qa, _fae = product_people
        Department.objects.create(code="OLD", name="Old lab", is_active=False)
        rows = [("20001", "张三", "", "", "OLD", "员工"), ("20002", "李四", "", "", "QA", "员工")]
        path = workbook(tmp_path / "w.xlsx", employees=rows, register=[register_row("SN1")])
        before = table_counts()

        report = LegacyImporter(path, confirmed_people=confirmed).run()

        assert not report.ok
        assert [str(error) for error in report.errors] == [
            "员工!2: 部门: Old lab (OLD) is inactive: reactivate it on its page or choose "
            "another department."
        ]
        assert table_counts() == before
        assert state(person) == ("Zhang San", "QA", ["staff"])

    def test_nobody_new_comes_into_an_inactive_department(self, tmp_path):
        Department.objects.create(code="OLD", name="Old lab", is_active=False)
        rows = [("20002", "李四", "", "", "Old lab", "员工")]
        before = table_counts()

        report = LegacyImporter(workbook(tmp_path / "w.xlsx", employees=rows)).run()

        assert [str(error) for error in report.errors] == [
            "员工!2: 部门: Old lab (OLD) is inactive: reactivate it on its page or choose "
            "another department."
        ]
        assert table_counts() == before


class ImportStageGuardTests:
    """The guard sits on the stage move itself: whoever calls it, it goes forwards only, never
    reopens and never overrides work done in the product."""

    def test_the_service_refuses_to_move_an_incident_backwards(self, tmp_path):
        incident = imported(tmp_path, register=[register_row("SN1", stage="X-ray")])

        with pytest.raises(WorkflowError, match="would move it backwards"):
            incident_import_stage(incident=incident, stage=Stage.FAE_RETEST, by=None)

        incident.refresh_from_db()
        assert incident.stage == Stage.XRAY

    def test_the_service_refuses_to_reopen_a_closed_incident(self, tmp_path):
        incident = imported(tmp_path, register=[register_row("SN1", stage="已回产线")])

        with pytest.raises(WorkflowError, match="cannot reopen it"):
            incident_import_stage(incident=incident, stage=Stage.FINAL_RETEST, by=None)

        incident.refresh_from_db()
        assert incident.stage == Stage.RETURNED

    def test_the_service_refuses_to_override_work_done_in_the_product(self, tmp_path):
        incident = imported(tmp_path, register=[register_row("SN1")])
        walk_fae_retest(incident, Verdict.FAIL)  # now in X-ray, by the product's workflow

        with pytest.raises(WorkflowError, match="worked on in the product"):
            incident_import_stage(incident=incident, stage=Stage.EE_ANALYSIS, by=None)

        incident.refresh_from_db()
        assert incident.stage == Stage.XRAY

    def test_the_service_still_moves_an_untouched_incident_forwards(self, tmp_path):
        incident = imported(tmp_path, register=[register_row("SN1")])

        incident_import_stage(incident=incident, stage=Stage.XRAY, by=None)

        incident.refresh_from_db()
        assert incident.stage == Stage.XRAY

    def test_the_transition_itself_goes_forwards_only(self, tmp_path):
        incident = imported(tmp_path, register=[register_row("SN1", stage="X-ray")])
        LegacyImporter(
            workbook(tmp_path / "closed.xlsx", register=[register_row("SN2", "报废")])
        ).run()
        closed = Incident.objects.get(device__serial_number="SN2")

        with pytest.raises(TransitionNotAllowed):
            incident.import_stage(stage=Stage.REPORTED)
        with pytest.raises(TransitionNotAllowed):
            closed.import_stage(stage=Stage.XRAY)
        assert (incident.stage, closed.stage) == (Stage.XRAY, Stage.SCRAPPED)


def failure_row(serial, opened, stage, station, item, link):
    row = list(register_row(serial, stage=stage, opened=opened))
    row[6], row[7], row[8] = station, item, link
    return tuple(row)


class EachRowBringsItsFailureTests:
    ROWS = [
        failure_row("SN1", "2025-01-06", "已回产线", "RF", "BT_RSSI", "//logs/a"),
        failure_row("SN1", "2025-03-04 10:22", "FAE复测", "RF-OTA", "WIFI_TX_POWER_LOW", "//b"),
    ]

    def test_two_failures_of_one_device_are_two_incidents_each_with_its_own(self, tmp_path):
        path = workbook(tmp_path / "w.xlsx", employees=ROWS[:1], register=self.ROWS)

        report = LegacyImporter(path).run()

        assert report.ok, [str(e) for e in report.errors]
        device = Device.objects.get(serial_number="SN1")
        failures = list(
            Incident.objects.filter(device=device)
            .order_by("opened_at")
            .values_list("fail_station", "fail_item", "test_log_url", "failed_at", "stage")
        )
        assert failures == [
            ("RF", "BT_RSSI", "//logs/a", at(2025, 1, 6), Stage.RETURNED),
            ("RF-OTA", "WIFI_TX_POWER_LOW", "//b", at(2025, 3, 4, 10, 22), Stage.FAE_RETEST),
        ]
        assert not hasattr(device, "fail_item")
        assert report.summaries["register"].created == 2

    def test_a_second_import_of_the_same_rows_adds_no_incident(self, tmp_path):
        path = workbook(tmp_path / "w.xlsx", employees=ROWS[:1], register=self.ROWS)
        LegacyImporter(path).run()

        report = LegacyImporter(path).run()

        assert Incident.objects.count() == 2
        assert report.summaries["register"].created == 0
        assert report.summaries["register"].unchanged == 2

    def test_two_open_rows_of_one_device_are_refused(self, tmp_path):
        rows = [
            failure_row("SN1", "2025-01-06", "FAE复测", "RF", "BT_RSSI", ""),
            failure_row("SN1", "2025-03-04", "X-ray", "RF", "WIFI", ""),
        ]
        path = workbook(tmp_path / "w.xlsx", employees=ROWS[:1], register=rows)

        report = LegacyImporter(path).run()

        assert [str(e) for e in report.errors] == [
            "异常设备登记!3: 当前节点: SN1 is open on row 2 too: a device has one open incident "
            "at a time"
        ]
        assert not Incident.objects.exists()


def at(*parts) -> datetime:
    return timezone.make_aware(datetime(*parts))


class CommandLineTests:
    def test_the_command_changes_people_only_with_change_people(
        self, tmp_path, product_people, capsys
    ):
        from django.core.management import call_command

        person, _qa, _fae = product_people
        path = str(workbook(tmp_path / "w.xlsx", employees=ROWS))

        call_command("import_legacy", path)
        out = capsys.readouterr().out
        assert state(person) == ("Zhang San", "QA", ["staff"])
        assert "3 change(s) to people asked for, 0 made (--change-people makes them):" in out
        assert "员工!2: Zhang San (20001): 姓名: Zhang San → 张三  [not made]" in out

        call_command("import_legacy", path, "--change-people")
        assert state(person) == ("张三", "FAE", ["staff", "supervisor"])


class EmployeesImportServiceTests:
    """The bulk writer refuses what the person's page refuses, whoever calls it."""

    def test_it_refuses_a_superuser_change_by_someone_who_is_not_one(self):
        root = SuperuserFactory(display_name="Root")

        with pytest.raises(WorkflowError, match="Only a superuser can change"):
            employees_import(changed=[(root, {"display_name": "x"})], by=AdminFactory())

        root.refresh_from_db()
        assert root.display_name == "Root"

    def test_it_refuses_a_move_into_an_inactive_department(self, product_people):
        person, _qa, _fae = product_people
        old = Department.objects.create(code="OLD", name="Old lab", is_active=False)

        with pytest.raises(WorkflowError, match="is inactive"):
            employees_import(changed=[(person, {"department": old})], by=None)
        with pytest.raises(WorkflowError, match="is inactive"):
            employees_import(
                created=[employee_build(employee_number="30001", username="new", department=old)],
                by=None,
            )
        assert state(person) == ("Zhang San", "QA", ["staff"])


class BulkWritersTests:
    """The importer's bulk writers hold the screens' rules when called directly."""

    def test_devices_import_refuses_an_inactive_place_and_writes_nothing(self):
        from django.core.exceptions import ValidationError

        from locations.services import device_build, devices_import
        from tests.factories import DeviceFactory, LocationFactory

        closed = LocationFactory(is_active=False)
        device = DeviceFactory()
        device.location = closed

        with pytest.raises(ValidationError, match="inactive and cannot receive devices"):
            devices_import(created=[device_build(serial_number="NEW-1")], changed=[device], by=None)

        device.refresh_from_db()
        assert device.location != closed
        assert not Device.objects.filter(serial_number="NEW-1").exists()

    def test_devices_import_lets_a_place_keep_a_device_it_has(self):
        from locations.services import devices_import
        from tests.factories import DeviceFactory

        device = DeviceFactory()
        device.location.is_active = False
        device.location.save()
        device.hardware_version = "DVT1"

        devices_import(changed=[device], by=None)

        device.refresh_from_db()
        assert device.hardware_version == "DVT1"

    def test_incidents_import_refuses_details_of_an_incident_worked_in_the_product(self, tmp_path):
        from incidents.services.workflow import incidents_import

        incident = imported(tmp_path, register=[register_row("SN1")])
        walk_fae_retest(incident, Verdict.FAIL)
        incident.refresh_from_db()
        incident.fail_item = "FROM_THE_WORKBOOK"

        with pytest.raises(WorkflowError, match="worked on in the product"):
            incidents_import(changed=[(incident, ["fail_item"])], by=None)

        incident.refresh_from_db()
        assert incident.fail_item == "BT_RSSI"


class EmployeeListImportTests:
    """The Employee list's import button: a preview lists each row's changes, column by
    column, before anything is written; the person page's rules hold; roles never change."""

    def rows(self, *rows):
        import tablib

        dataset = tablib.Dataset(headers=["工号", "姓名", "部门", "角色"])
        for row in rows:
            dataset.append(row)
        return dataset

    def test_a_move_into_an_inactive_department_is_refused_and_nothing_is_kept(
        self, product_people
    ):
        from incidents.resources import EmployeeResource

        person, _qa, _fae = product_people
        Department.objects.create(code="OLD", name="Old lab", is_active=False)
        importer = SuperuserFactory()
        before = table_counts()

        result = EmployeeResource().import_data(
            self.rows(("20009", "新人", "QA", ""), ("20001", "张三", "OLD", "")),
            dry_run=False,
            user=importer,
        )

        assert result.has_validation_errors()
        assert "Old lab (OLD) is inactive" in str(result.invalid_rows[0].error)
        assert result.invalid_rows[0].number == 2
        assert not Employee.objects.filter(employee_number="20009").exists()
        assert table_counts() == before
        assert state(person) == ("Zhang San", "QA", ["staff"])

    def test_a_role_column_grants_nothing(self, product_people):
        from incidents.resources import EmployeeResource

        person, _qa, fae = product_people

        EmployeeResource().import_data(
            self.rows(("20001", "Zhang San", "QA", "主管")), dry_run=False, user=SuperuserFactory()
        )

        assert state(person) == ("Zhang San", "QA", ["staff"])
        assert person not in fae.supervisors.all()

    def test_the_preview_lists_each_change_and_writes_nothing(self, product_people, admin_client):
        from django.core.files.uploadedfile import SimpleUploadedFile
        from django.urls import reverse

        person, _qa, _fae = product_people
        content = "工号,姓名,部门\n20001,张三,FAE\n".encode()

        page = admin_client.post(
            reverse("admin:incidents_employee_import"),
            {
                "resource": "0",
                "format": "1",
                "import_file": SimpleUploadedFile("people.csv", content),
            },
        )

        html = page.content.decode()
        assert page.status_code == 200
        preview = html[html.index("import-preview") :]
        assert "Zhang San" in preview and "张三" in preview
        assert "QA" in preview and "FAE" in preview
        assert state(person) == ("Zhang San", "QA", ["staff"])


class LocationsImportTests:
    def test_locations_import_refuses_a_loop_and_writes_nothing(self):
        from django.core.exceptions import ValidationError

        from locations.models import Location
        from locations.services import locations_import
        from tests.factories import LocationFactory

        a = LocationFactory(code="A")
        b = LocationFactory(code="B", parent=a)
        a.parent = b

        with pytest.raises(ValidationError, match="inside itself"):
            locations_import(created=[Location(code="C", name="C", parent=a)], changed=[a], by=None)

        a.refresh_from_db()
        assert a.parent is None
        assert not Location.objects.filter(code="C").exists()
