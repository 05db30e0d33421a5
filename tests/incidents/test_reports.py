"""The failure-analysis report of an incident: a PDF with every section whose Chinese text
extracts back as written, with the image attachments embedded; an XLSX holding the timeline;
and nothing for someone who may not see the incident."""

import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import openpyxl
import pypdfium2
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from incidents import reports
from incidents.choices import Stage, Verdict
from incidents.services.records import analysis_result_add, operation_record_add
from locations.services import device_move
from tests.factories import EmployeeFactory, LocationFactory, ProblemGroupFactory
from tests.incidents.test_report_jobs import fetch_report
from tests.incidents.test_workflow import assigned, build_team, open_incident, walk_stage

pytestmark = pytest.mark.django_db


def photo() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "PNG")
    return SimpleUploadedFile("xray.png", buffer.getvalue(), content_type="image/png")


@pytest.fixture
def analysed(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    team = build_team()
    incident = assigned(team, Stage.FAE_RETEST)
    worker = team.worker(Stage.FAE_RETEST)
    incident.fail_station = "RF-OTA 3"
    incident.fail_item = "BT_RSSI"
    incident.test_log_url = "//share/logs/bt_rssi.log"
    incident.failed_at = datetime(2026, 3, 4, 10, 22, 5, 123456, tzinfo=UTC)
    incident.save(update_fields=["fail_station", "fail_item", "test_log_url", "failed_at"])
    operation_record_add(
        incident=incident,
        by=worker,
        action="在3号站复测",
        files=[photo(), SimpleUploadedFile("station3.log", b"FAIL", content_type="text/plain")],
    )
    analysis_result_add(incident=incident, by=worker, verdict="fail", findings="信号弱，复测仍失败")
    device_move(device=incident.device, moved_by=worker, location=LocationFactory(code="FAE-BENCH"))
    return team, incident


def chinese_client(user) -> Client:
    user.language = "zh-hans"
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


def pdf_text(content: bytes) -> tuple[str, int]:
    document = pypdfium2.PdfDocument(content)
    text = "\n".join(page.get_textpage().get_text_range() for page in document)
    images = sum(
        1
        for page in document
        for item in page.get_objects()
        if item.type == pypdfium2.raw.FPDF_PAGEOBJ_IMAGE
    )
    return text, images


def test_the_pdf_report_has_every_section_in_chinese_with_the_image_embedded(analysed):
    team, incident = analysed
    client = chinese_client(team.supervisor(Stage.FAE_RETEST))

    response = client.get(f"/admin/incidents/incident/{incident.pk}/report.pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f"FA-report-{incident.pk}" in response["Content-Disposition"]
    text, images = pdf_text(response.content)
    for expected in (
        f"失效分析报告 #{incident.pk}",
        incident.device.serial_number,
        "BT_RSSI",
        "RF-OTA 3",
        "//share/logs/bt_rssi.log",
        "失效时间",
        "2026年3月4日 18:22",
        "FAE复测",
        "在3号站复测",
        "信号弱，复测仍失败",
        "station3.log",
        "FAE-BENCH",
    ):
        assert expected in text, expected
    assert images == 1


def test_the_xlsx_report_holds_the_timeline_and_the_records(analysed):
    team, incident = analysed
    client = chinese_client(team.supervisor(Stage.FAE_RETEST))

    response = client.get(f"/admin/incidents/incident/{incident.pk}/report.xlsx")

    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    timeline = [row for row in book["时间线"].iter_rows(values_only=True)][1:]
    assert len(timeline) == incident.events.count()
    work = [row for row in book["记录与结果"].iter_rows(values_only=True)]
    assert any("信号弱，复测仍失败" in str(cell) for row in work for cell in row)
    assert any("xray.png" in str(cell) for row in work for cell in row)


def test_someone_who_may_not_see_the_incident_gets_no_report(analysed):
    _team, incident = analysed
    stranger = Client()
    stranger.force_login(EmployeeFactory(is_staff=True))

    for kind in ("pdf", "xlsx"):
        assert (
            stranger.get(f"/admin/incidents/incident/{incident.pk}/report.{kind}").status_code
            == 403
        )
    assert Client().get(f"/admin/incidents/incident/{incident.pk}/report.pdf").status_code == 302


def test_unknown_formats_and_ids_are_not_found(analysed):
    team, incident = analysed
    client = chinese_client(team.admin)

    assert client.get(f"/admin/incidents/incident/{incident.pk}/report.docx").status_code == 404
    assert client.get("/admin/incidents/incident/abc/report.pdf").status_code == 404
    assert client.get("/admin/incidents/incident/999999/report.pdf").status_code == 404


def test_a_problem_group_report_holds_each_of_its_incidents(analysed):
    team, incident = analysed
    group = ProblemGroupFactory(title="弱信号")
    incident.problem_group = group
    incident.save(update_fields=["problem_group"])
    other = assigned(team, Stage.FAE_RETEST)
    other.problem_group = group
    other.save(update_fields=["problem_group"])
    client = chinese_client(team.supervisor(Stage.FAE_RETEST))

    pdf = fetch_report(client, f"/admin/incidents/problemgroup/{group.pk}/report.pdf")
    xlsx = fetch_report(client, f"/admin/incidents/problemgroup/{group.pk}/report.xlsx")

    assert pdf.status_code == xlsx.status_code == 200
    text, images = pdf_text(pdf.content)
    assert f"失效分析报告 {group.number}" in text and "弱信号" in text
    for case in (incident, other):
        assert f"异常事件 #{case.pk} · {case.device.serial_number}" in text
    assert images == 1
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    rows = list(book.worksheets[0].iter_rows(values_only=True))[1:]
    assert sorted(row[0] for row in rows) == sorted([f"#{incident.pk}", f"#{other.pk}"])
    # Each part of an incident's report is one sheet holding every incident's rows.
    assert {row[0] for row in book["时间线"].iter_rows(min_row=2, values_only=True)} == {
        f"#{incident.pk}",
        f"#{other.pk}",
    }


def test_making_a_report_leaves_pillow_refusing_truncated_pictures(analysed):
    from PIL import ImageFile

    team, incident = analysed
    chinese_client(team.admin).get(f"/admin/incidents/incident/{incident.pk}/report.pdf")

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_a_problem_group_report_names_the_groups_owner(analysed):
    team, incident = analysed
    owner = EmployeeFactory(display_name="质量 王工")
    group = ProblemGroupFactory(owner=owner)
    incident.problem_group = group
    incident.save(update_fields=["problem_group"])
    client = chinese_client(team.admin)

    text, _images = pdf_text(
        fetch_report(client, f"/admin/incidents/problemgroup/{group.pk}/report.pdf").content
    )

    assert "质量 王工" in text


def test_the_incident_page_offers_its_report_at_the_top(analysed):
    team, incident = analysed
    client = Client()
    client.force_login(team.worker(Stage.FAE_RETEST))

    page = client.get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()

    top = page[page.index('data-testid="summary-report"') :][:800]
    for kind in ("pdf", "xlsx"):
        link = f"/admin/incidents/incident/{incident.pk}/report.{kind}"
        assert f'href="{link}"' in top
        assert client.get(link).status_code == 200


# --- who was assigned in each stage --------------------------------------------------------------
@pytest.fixture
def returned():
    """An incident walked from the line through an FAE retest that passed, back to the line."""
    team = build_team()
    incident = walk_stage(open_incident(team), team)
    incident = walk_stage(incident, team, Verdict.PASS)
    assert incident.stage == Stage.RETURNED
    return team, incident


def test_each_stage_lists_exactly_who_was_assigned_in_it(returned):
    team, incident = returned

    visits = reports.incident_report(incident).visits

    assert [(visit.stage, visit.people) for visit in visits] == [
        (Stage.REPORTED, [team.worker(Stage.REPORTED).get_full_name()]),
        (Stage.FAE_RETEST, [team.worker(Stage.FAE_RETEST).get_full_name()]),
        (Stage.RETURNED, []),
    ]


def test_the_reports_stage_table_names_nobody_for_returned_to_the_line(returned):
    team, incident = returned
    client = chinese_client(team.admin)

    book = openpyxl.load_workbook(
        io.BytesIO(client.get(f"/admin/incidents/incident/{incident.pk}/report.xlsx").content)
    )
    stages = {row[0]: row[3] for row in list(book["节点"].iter_rows(values_only=True))[1:]}
    text, _images = pdf_text(
        client.get(f"/admin/incidents/incident/{incident.pk}/report.pdf").content
    )

    reporter, fae = team.worker(Stage.REPORTED), team.worker(Stage.FAE_RETEST)
    assert stages == {
        "产线上报": reporter.get_full_name(),
        "FAE复测": fae.get_full_name(),
        "已回产线": None,
    }
    table = text[text.index("指派给") : text.index("记录与结果")]
    assert table.count(reporter.get_full_name()) == 1
    assert table.count(fae.get_full_name()) == 1


def test_a_stage_worked_by_two_people_in_turn_lists_both(returned):
    team = returned[0]
    incident = assigned(team, Stage.FAE_RETEST)
    from incidents.services.workflow import incident_assign

    incident_assign(
        incident=incident, assignee=team.fae_colleague, by=team.supervisor(Stage.FAE_RETEST)
    )

    [visit] = reports.incident_report(incident).visits
    assert visit.people == [
        team.worker(Stage.FAE_RETEST).get_full_name(),
        team.fae_colleague.get_full_name(),
    ]


# --- the workbooks' times are dates --------------------------------------------------------------
def test_the_incident_workbook_writes_times_as_local_date_cells(analysed):
    team, incident = analysed
    client = chinese_client(team.admin)

    book = openpyxl.load_workbook(
        io.BytesIO(client.get(f"/admin/incidents/incident/{incident.pk}/report.xlsx").content)
    )

    summary = dict(book["概览"].iter_rows(values_only=True))
    assert summary["失效时间"] == datetime(2026, 3, 4, 18, 22, 5)
    assert summary["Fail站"] == "RF-OTA 3"
    assert summary["Fail项"] == "BT_RSSI"
    opened = summary["已上报"]
    assert isinstance(opened, datetime) and opened.tzinfo is None and opened.microsecond == 0
    local = incident.opened_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert opened == local.replace(tzinfo=None, microsecond=0)
    timeline = list(book["时间线"].iter_rows(values_only=True))[1:]
    assert all(isinstance(row[0], datetime) for row in timeline)
    stage_rows = list(book["节点"].iter_rows(values_only=True))[1:]
    assert isinstance(stage_rows[0][1], datetime)
    assert book["时间线"]["A2"].is_date


def test_the_group_workbook_writes_times_as_date_cells(analysed):
    team, incident = analysed
    group = ProblemGroupFactory()
    incident.problem_group = group
    incident.save(update_fields=["problem_group"])

    book = openpyxl.load_workbook(
        io.BytesIO(
            fetch_report(
                chinese_client(team.admin), f"/admin/incidents/problemgroup/{group.pk}/report.xlsx"
            ).content
        )
    )

    [row] = list(book.worksheets[0].iter_rows(values_only=True))[1:]
    assert row[3] == "BT_RSSI"
    assert isinstance(row[5], datetime)
    copied = list(book["时间线"].iter_rows(values_only=True))[1:]
    assert copied and all(r[0] == f"#{incident.pk}" for r in copied)
    assert all(isinstance(r[1], datetime) for r in copied)
    assert book["时间线"]["B2"].is_date


def test_the_discipline_dates_of_the_8d_workbook_are_date_cells(analysed):
    from incidents.services.eightd import eightd_update

    team, _incident = analysed
    group = ProblemGroupFactory(owner=team.admin)
    eightd_update(group=group, by=team.admin, team="质量", team_date=date(2025, 3, 10))

    book = openpyxl.load_workbook(
        io.BytesIO(
            chinese_client(team.admin)
            .get(f"/admin/incidents/problemgroup/{group.pk}/8d.xlsx")
            .content
        )
    )

    assert list(book["8D"].iter_rows(values_only=True))[1][1] == datetime(2025, 3, 10)
    assert book["8D"]["B2"].is_date
