"""The failure-analysis report of an incident: a PDF with every section whose Chinese text
extracts back as written, with the image attachments embedded; an XLSX holding the timeline;
and nothing for someone who may not see the incident."""

import io

import openpyxl
import pypdfium2
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from incidents.choices import Stage
from incidents.services.records import analysis_result_add, operation_record_add
from locations.services import device_move
from tests.factories import EmployeeFactory, LocationFactory, ProblemGroupFactory
from tests.incidents.test_workflow import assigned, build_team

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
    incident.device.fail_item = "BT_RSSI"
    incident.device.save()
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

    pdf = client.get(f"/admin/incidents/problemgroup/{group.pk}/report.pdf")
    xlsx = client.get(f"/admin/incidents/problemgroup/{group.pk}/report.xlsx")

    assert pdf.status_code == xlsx.status_code == 200
    text, images = pdf_text(pdf.content)
    assert f"失效分析报告 {group.number}" in text and "弱信号" in text
    for case in (incident, other):
        assert f"异常事件 #{case.pk} · {case.device.serial_number}" in text
    assert images == 1
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    rows = list(book.worksheets[0].iter_rows(values_only=True))[1:]
    assert sorted(row[0] for row in rows) == sorted([f"#{incident.pk}", f"#{other.pk}"])
    assert f"#{incident.pk} 时间线" in book.sheetnames


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
        client.get(f"/admin/incidents/problemgroup/{group.pk}/report.pdf").content
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
