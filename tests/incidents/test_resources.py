"""The changelists' import/export: Chinese or English headers, and an export that re-imports
without changing anything."""

import csv
import io
import re
from datetime import timedelta

import openpyxl
import pytest
import tablib
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone, translation

from config.kit.spreadsheets import SafeCSV, SafeXLSX
from incidents.choices import Stage
from incidents.models import Incident
from incidents.resources import DeviceResource, EmployeeResource, IncidentResource, LocationResource
from incidents.services import incident_cancel
from locations.choices import SPREADSHEET_REASON
from tests.factories import (
    DeviceFactory,
    EmployeeFactory,
    IncidentFactory,
    LocationFactory,
    ProblemGroupFactory,
    SuperuserFactory,
)
from tests.incidents.test_workflow import assigned, build_team, open_incident, submitted

pytestmark = pytest.mark.django_db


FORMATS = {"xlsx": SafeXLSX, "csv": SafeCSV}


def export_file(resource_class, file_format: str, language: str = "en"):
    """What the export button hands out: the file's bytes (or text, for CSV)."""
    with translation.override(language):
        return FORMATS[file_format]().export_data(resource_class().export())


def read_file(data, file_format: str) -> tablib.Dataset:
    """What the import button reads from an uploaded file."""
    if file_format == "csv" and isinstance(data, str):
        data = data.encode()
    return FORMATS[file_format]().create_dataset(data.decode() if file_format == "csv" else data)


def round_trip(resource_class, language: str, file_format: str, user):
    dataset = read_file(export_file(resource_class, file_format, language), file_format)
    return dataset, resource_class().import_data(
        dataset, dry_run=False, raise_errors=True, user=user
    )


class ExportHeaderTests:
    def test_headers_follow_the_language_of_the_person_exporting(self):
        with translation.override("zh-hans"):
            chinese = DeviceResource().get_export_headers()
        with translation.override("en"):
            english = DeviceResource().get_export_headers()

        assert chinese[:3] == ["设备SN", "专案", "硬件版本"]
        assert english[:3] == ["Serial number", "Project", "Hardware version"]


class RoundTripTests:
    @pytest.mark.parametrize("language", ["zh-hans", "en"])
    @pytest.mark.parametrize("file_format", ["xlsx", "csv"])
    @pytest.mark.parametrize(
        "resource_class", [DeviceResource, LocationResource, EmployeeResource, IncidentResource]
    )
    def test_an_export_re_imports_unchanged(self, resource_class, language, file_format):
        importer = SuperuserFactory()
        holder, shelf = EmployeeFactory(), LocationFactory(parent=LocationFactory())
        for _ in range(3):
            IncidentFactory(device=DeviceFactory(holder=holder, location=shelf))
        before = list(resource_class().export().dict)

        dataset, result = round_trip(resource_class, language, file_format, importer)

        assert not result.has_errors() and not result.has_validation_errors()
        assert result.totals["new"] == 0
        assert result.totals["update"] == 0
        assert result.totals["skip"] == len(dataset) > 0
        assert list(resource_class().export().dict) == before

    def test_an_edited_export_updates_what_changed(self):
        device = DeviceFactory(project="Falcon")
        with translation.override("en"):
            dataset = DeviceResource().export()
        dataset.dict = [{**row, "Project": "Osprey"} for row in dataset.dict]

        result = DeviceResource().import_data(dataset, dry_run=False, user=SuperuserFactory())

        device.refresh_from_db()
        assert result.totals["update"] == 1
        assert device.project == "Osprey"

    def test_incident_import_never_changes_the_stage(self):
        incident = IncidentFactory()
        dataset = IncidentResource().export()
        dataset.dict = [{**row, "Stage": "returned"} for row in dataset.dict]

        IncidentResource().import_data(dataset, dry_run=False, user=SuperuserFactory())

        incident.refresh_from_db()
        assert incident.stage == "reported"


class AdminButtonTests:
    @pytest.mark.parametrize(
        "model",
        ["locations_device", "locations_location", "incidents_employee", "incidents_incident"],
    )
    def test_export_page_renders_for_an_admin(self, admin_client, model):
        assert admin_client.get(reverse(f"admin:{model}_export")).status_code == 200
        assert admin_client.get(reverse(f"admin:{model}_import")).status_code == 200

    def test_staff_may_export_devices_but_not_import_them(self, staff_client):
        assert staff_client.get(reverse("admin:locations_device_export")).status_code == 200
        assert staff_client.get(reverse("admin:incidents_employee_import")).status_code == 403

    def test_export_download_through_the_admin(self, admin_client):
        DeviceFactory(serial_number="SN-EXPORT-1")

        fields = DeviceResource().get_export_fields()
        response = admin_client.post(
            reverse("admin:locations_device_export"),
            {
                "format": "1",
                "resource": "0",
                **{f"deviceresource_{f.attribute}": "on" for f in fields},
            },
        )

        assert response.status_code == 200, response.content.decode()[:500]
        assert "attachment" in response["Content-Disposition"]
        assert "SN-EXPORT-1" in response.content.decode("utf-8-sig")


def export_page_columns(client, model: str) -> list[str]:
    """The columns the export page promises, as the person reads them."""
    html = client.get(reverse(f"admin:{model}_export")).content.decode()
    promised = re.search(r"<code>(.*?)</code>", html, re.S).group(1)
    return [name.strip() for name in promised.split(",")]


def downloaded_sheet(client, model: str) -> openpyxl.worksheet.worksheet.Worksheet:
    response = client.post(reverse(f"admin:{model}_export"), {"format": "0", "resource": "0"})
    assert response.status_code == 200, response.content.decode()[:500]
    return openpyxl.load_workbook(io.BytesIO(response.content)).active


class ExportMatchesItsPreviewTests:
    @pytest.mark.parametrize(
        ("language", "sheet_name", "first_columns"),
        [
            ("zh-hans", "异常事件", ["异常编号", "设备SN", "专案"]),
            ("en", "Incidents", ["Incident no.", "Serial number", "Project"]),
        ],
    )
    def test_the_file_has_the_columns_and_sheet_name_the_page_promised(
        self, admin_client, language, sheet_name, first_columns
    ):
        IncidentFactory()
        admin_client.post(reverse("set_language"), {"language": language})

        promised = export_page_columns(admin_client, "incidents_incident")
        sheet = downloaded_sheet(admin_client, "incidents_incident")

        assert [cell.value for cell in sheet[1]] == promised
        assert promised[:3] == first_columns
        assert sheet.title == sheet_name

    def test_every_list_promises_what_its_file_holds(self, admin_client):
        DeviceFactory(location=LocationFactory(parent=LocationFactory()))

        for model in ("locations_device", "locations_location", "incidents_employee"):
            promised = export_page_columns(admin_client, model)
            sheet = downloaded_sheet(admin_client, model)

            assert [cell.value for cell in sheet[1]] == promised, model

    def test_the_import_page_lists_only_the_columns_an_import_reads(self, admin_client):
        html = admin_client.get(reverse("admin:incidents_incident_import")).content.decode()

        listed = re.search(r"<code>(.*?)</code>", html, re.S).group(1).split(",")
        assert [name.strip() for name in listed] == [
            "Serial number",
            "Fail station",
            "Fail item",
            "Test log link",
            "Failed at",
            "Problem group",
            "Opened at",
            "Notes",
        ]


@pytest.fixture
def team(db):
    return build_team()


class WeeklyReportTests:
    @pytest.mark.parametrize(
        ("language", "stage", "step"),
        [("en", "FAE retest", "In progress"), ("zh-hans", "FAE复测", "处理中")],
    )
    def test_stage_and_step_are_words_in_the_readers_language(self, team, language, stage, step):
        incident = assigned(team, Stage.FAE_RETEST)

        with translation.override(language):
            row = IncidentResource().export().dict[0]
            resource = IncidentResource()
        columns = {name: resource.fields[name].column_name for name in ("stage", "step")}

        assert row[columns["stage"]] == stage
        assert row[columns["step"]] == step
        assert incident.stage == Stage.FAE_RETEST

    def test_an_incident_row_carries_what_a_weekly_report_needs(self, team):
        group = ProblemGroupFactory()
        working = assigned(team, Stage.FAE_RETEST)
        Incident.objects.filter(pk=working.pk).update(
            stage_entered_at=timezone.now() - timedelta(days=3, hours=12), problem_group=group
        )
        closed = incident_cancel(incident=open_incident(team), by=team.admin, reason="Opened twice")

        rows = {row["Serial number"]: row for row in IncidentResource().export().dict}

        device = working.device
        assert rows[device.serial_number] | {
            "Opened at": None,
            "Notes": None,
            "Failed at": None,
        } == {
            "Incident no.": str(working.pk),
            "Serial number": device.serial_number,
            "Project": device.project,
            "Fail station": working.fail_station,
            "Fail item": working.fail_item,
            "Test log link": working.test_log_url,
            "Failed at": None,
            "Problem group": group.number,
            "Stage": "FAE retest",
            "Step": "In progress",
            "Assignee": team.worker(Stage.FAE_RETEST).get_full_name(),
            "Days in stage": 3.5,
            "Opened at": None,
            "Closed at": "",
            "Notes": None,
        }
        finished = rows[closed.device.serial_number]
        assert finished["Stage"] == "Cancelled" and finished["Step"] == "Closed"
        assert finished["Days in stage"] is None
        assert finished["Closed at"].startswith(str(timezone.localdate().year))

    @pytest.mark.parametrize("language", ["zh-hans", "en"])
    @pytest.mark.parametrize("file_format", ["xlsx", "csv"])
    def test_an_export_of_incidents_at_work_re_imports_unchanged(self, team, language, file_format):
        assigned(team, Stage.FAE_RETEST)
        submitted(team, Stage.XRAY)
        incident_cancel(incident=open_incident(team), by=team.admin, reason="Opened twice")
        before = list(Incident.objects.values_list("stage", "step", "assignee", "description"))

        dataset, result = round_trip(IncidentResource, language, file_format, team.admin)

        assert not result.has_errors() and not result.has_validation_errors()
        assert result.totals["skip"] == len(dataset) == 3
        after = list(Incident.objects.values_list("stage", "step", "assignee", "description"))
        assert after == before

    def test_the_xlsx_through_the_admin_has_real_dates_and_numbers(self, team, admin_client):
        closed = incident_cancel(incident=open_incident(team), by=team.admin, reason="Twice")

        sheet = downloaded_sheet(admin_client, "incidents_incident")

        header = [cell.value for cell in sheet[1]]
        row = dict(zip(header, [cell.value for cell in sheet[2]], strict=True))
        opened = timezone.localtime(closed.opened_at).replace(tzinfo=None, microsecond=0)
        assert row["Incident no."] == closed.pk
        assert row["Opened at"] == opened
        assert sheet.cell(2, header.index("Opened at") + 1).is_date

    def test_the_import_preview_shows_the_rows_as_the_file_has_them(self, team, admin_client):
        incident = assigned(team, Stage.FAE_RETEST)
        admin_client.post(reverse("set_language"), {"language": "zh-hans"})
        sheet = downloaded_sheet(admin_client, "incidents_incident")
        upload = io.BytesIO()
        sheet.parent.save(upload)
        upload.seek(0)
        upload.name = "incidents.xlsx"

        html = admin_client.post(
            reverse("admin:incidents_incident_import"),
            {"import_file": upload, "format": "0", "resource": "0"},
        ).content.decode()

        preview = html[html.index("import-preview") :]
        assert "FAE复测" in preview and "处理中" in preview
        assert incident.assignee.get_full_name() in preview
        assert ">fae_retest<" not in preview and ">assigned<" not in preview
        assert f"({incident.assignee.employee_number})" not in preview


def import_rows(resource_class, rows: list[dict], user, dry_run: bool = False):
    dataset = tablib.Dataset(headers=list(rows[0]))
    for row in rows:
        dataset.append(list(row.values()))
    return resource_class().import_data(dataset, dry_run=dry_run, user=user)


class ImportPermissionTests:
    @pytest.mark.parametrize("model", ["incidents_incident", "locations_device"])
    def test_staff_with_only_the_add_permission_cannot_import(self, staff_client, model):
        assert staff_client.get(reverse(f"admin:{model}_import")).status_code == 403
        assert staff_client.post(reverse(f"admin:{model}_process_import")).status_code == 403

    def test_the_resource_refuses_a_person_without_the_change_permission(self, staff_user):
        device = DeviceFactory(project="Falcon")

        with pytest.raises(PermissionDenied):
            import_rows(
                DeviceResource,
                [{"serial number": device.serial_number, "project": "Hacked"}],
                staff_user,
            )

        device.refresh_from_db()
        assert device.project == "Falcon"


class ImportThroughServicesTests:
    def test_a_new_incident_is_opened_by_the_person_importing_with_its_timeline(self):
        importer, device = SuperuserFactory(), DeviceFactory()

        result = import_rows(
            IncidentResource,
            [
                {
                    "serial number": device.serial_number,
                    "opened at": "2025-03-04 10:22:00",
                    "notes": "Fails BT",
                }
            ],
            importer,
        )

        assert not result.has_validation_errors() and not result.has_errors()
        incident = Incident.objects.get(device=device)
        assert incident.reporter == importer
        assert incident.opened_at.year == 2025
        assert list(incident.events.values_list("action", "actor")) == [("open", importer.pk)]

    def test_a_second_open_incident_for_a_device_is_refused_and_nothing_is_kept(self):
        importer, open_one, other = SuperuserFactory(), IncidentFactory(), DeviceFactory()

        result = import_rows(
            IncidentResource,
            [
                {"serial number": other.serial_number, "opened at": "2025-03-04 10:00:00"},
                {"serial number": open_one.device.serial_number, "opened at": "2025-03-05"},
            ],
            importer,
        )

        assert result.has_validation_errors()
        assert "already has an open incident" in str(result.invalid_rows[0].error)
        assert not Incident.objects.filter(device=other).exists()

    def test_changed_details_are_saved_with_history_and_a_timeline_entry(self):
        importer, incident = SuperuserFactory(), IncidentFactory(description="old")
        with translation.override("en"):
            rows = IncidentResource().export().dict
        rows[0]["Notes"] = "new"

        import_rows(IncidentResource, rows, importer)

        incident.refresh_from_db()
        assert incident.description == "new"
        assert incident.history.first().history_user == importer
        assert incident.events.filter(action="edit", actor=importer).exists()

    def test_an_empty_cell_leaves_a_value_as_it_is(self):
        importer = SuperuserFactory()
        holder, place = EmployeeFactory(), LocationFactory()
        device = DeviceFactory(project="Falcon", holder=holder, location=place)
        incident = IncidentFactory(device=device, description="Fails BT", fail_item="BT_RSSI")

        import_rows(
            DeviceResource,
            [
                {
                    "serial number": device.serial_number,
                    "project": "",
                    "hardware version": "DVT2",
                    "holder": "",
                    "location": "",
                }
            ],
            importer,
        )
        with translation.override("en"):
            rows = IncidentResource().export().dict
        rows[0]["Notes"] = ""
        rows[0]["Fail item"] = ""
        import_rows(IncidentResource, rows, importer)

        device.refresh_from_db()
        incident.refresh_from_db()
        assert (device.project, device.hardware_version) == ("Falcon", "DVT2")
        assert (device.holder, device.location) == (holder, place)
        assert incident.description == "Fails BT"
        assert incident.fail_item == "BT_RSSI"

    def test_a_custody_change_is_a_move_with_a_trail_reason(self):
        importer, device, shelf = SuperuserFactory(), DeviceFactory(), LocationFactory()

        import_rows(
            DeviceResource,
            [{"serial number": device.serial_number, "location": shelf.code}],
            importer,
        )

        device.refresh_from_db()
        latest = device.history.first()
        assert device.location == shelf
        assert (latest.history_user, latest.history_change_reason) == (
            importer,
            SPREADSHEET_REASON,
        )

    def test_a_move_the_custody_rules_refuse_stops_the_whole_file(self):
        importer, closed = SuperuserFactory(), LocationFactory(is_active=False)
        moved, refused = DeviceFactory(), DeviceFactory()
        places = {moved.pk: moved.location_id, refused.pk: refused.location_id}
        other = LocationFactory()

        result = import_rows(
            DeviceResource,
            [
                {"serial number": moved.serial_number, "location": other.code},
                {"serial number": refused.serial_number, "location": closed.code},
            ],
            importer,
        )

        assert result.has_validation_errors()
        assert "inactive" in str(result.invalid_rows[0].error)
        for device in (moved, refused):
            device.refresh_from_db()
            assert device.location_id == places[device.pk]

    def test_a_loop_of_parent_locations_is_refused(self):
        importer = SuperuserFactory()
        a = LocationFactory(code="LOOP-A")
        b = LocationFactory(code="LOOP-B", parent=a)

        result = import_rows(
            LocationResource,
            [{"location code": "LOOP-A", "name": a.name, "parent code": "LOOP-B"}],
            importer,
        )

        assert result.has_validation_errors()
        a.refresh_from_db()
        assert a.parent is None and b.parent == a


class FormulaEscapingTests:
    DANGEROUS = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "'=quoted"]

    @pytest.mark.parametrize("file_format", ["xlsx", "csv"])
    def test_typed_formulae_are_exported_as_text(self, file_format):
        for text in self.DANGEROUS:
            IncidentFactory(description=text)

        exported = read_raw(export_file(IncidentResource, file_format), file_format)

        notes = [row["Notes"] for row in exported]
        assert sorted(notes) == sorted(f"'{text}" for text in self.DANGEROUS)

    @pytest.mark.parametrize("file_format", ["xlsx", "csv"])
    def test_escaped_cells_read_back_as_they_were_typed(self, file_format):
        importer = SuperuserFactory()
        incidents = [IncidentFactory(description=text) for text in self.DANGEROUS]

        dataset = read_file(export_file(IncidentResource, file_format), file_format)
        result = IncidentResource().import_data(dataset, dry_run=False, user=importer)

        assert result.totals["update"] == 0 and result.totals["skip"] == len(incidents)
        assert sorted(i.description for i in Incident.objects.all()) == sorted(self.DANGEROUS)

    def test_the_sheet_is_named_after_what_it_holds(self):
        IncidentFactory()

        book = openpyxl.load_workbook(io.BytesIO(export_file(IncidentResource, "xlsx")))

        assert book.sheetnames == ["Incidents"]

    def test_an_uploaded_formula_is_read_as_its_text(self):
        book = openpyxl.Workbook()
        book.active.append(["serial number", "project"])
        book.active.append(["SN-F1", "=1+1"])
        data = io.BytesIO()
        book.save(data)

        dataset = SafeXLSX().create_dataset(data.getvalue())

        assert dataset.dict == [{"serial number": "SN-F1", "project": "=1+1"}]


def read_raw(data, file_format: str) -> list[dict]:
    """The cells of an exported file exactly as a spreadsheet program would get them."""
    if file_format == "csv":
        return list(csv.DictReader(io.StringIO(data)))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    for row in sheet.iter_rows():
        assert all(cell.data_type != "f" for cell in row)
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


class SerialNumberCaseTests:
    def test_a_serial_number_in_other_case_finds_the_device(self):
        importer = SuperuserFactory()
        device = DeviceFactory(serial_number="ABC-1", project="Falcon")

        result = import_rows(
            DeviceResource, [{"serial number": "abc-1", "project": "Osprey"}], importer
        )

        assert result.totals["update"] == 1 and result.totals["new"] == 0
        device.refresh_from_db()
        assert device.project == "Osprey"


class SuperuserAccountTests:
    def test_an_administrator_cannot_change_a_superuser_through_an_import(self):
        from tests.factories import AdminFactory

        root = SuperuserFactory(email="root@example.com")

        result = import_rows(
            EmployeeResource,
            [{"employee number": root.employee_number, "email": "taken@example.com"}],
            AdminFactory(),
        )

        assert result.has_validation_errors()
        assert "Only a superuser can change" in str(result.invalid_rows[0].error)
        root.refresh_from_db()
        assert root.email == "root@example.com"
