"""Heavy reports run as jobs, never inside a request: a problem group's report (PDF, XLSX), its 8D
PDF and list exports past EXPORT_IMMEDIATE_MAX_ROWS rows are queued, made by the worker in
parts (progress, cancel), kept for their requester (and administrators) to download, announced
by a notification and removed after the retention period; an incident's own report and a small
export stay immediate."""

import io
from datetime import timedelta

import openpyxl
import pypdfium2
import pytest
from django.core import mail
from django.core.management import call_command
from django.http import HttpResponse
from django.test import Client, TestCase, override_settings
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from incidents import report_parts
from incidents.choices import Stage, WorkflowAction
from incidents.models import Notification, ProjectAccess, ReportJob, ReportJobStatus
from incidents.services.report_jobs import (
    report_job_run,
    report_jobs_fail_stalled,
    report_jobs_remove_expired,
)
from tests.factories import AdminFactory, DeviceFactory, ProblemGroupFactory, StaffFactory
from tests.incidents.test_workflow import assigned, build_team

pytestmark = pytest.mark.django_db
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def grouped():
    """A problem group of three incidents, and the team around them."""
    team = build_team()
    group = ProblemGroupFactory(title="弱信号")
    incidents = []
    for _n in range(3):
        incident = assigned(team, Stage.FAE_RETEST)
        incident.problem_group = group
        incident.save(update_fields=["problem_group"])
        incidents.append(incident)
    return team, group, incidents


def ask(client, group, kind: str = "pdf", what: str = "report"):
    return client.post(f"/admin/incidents/problemgroup/{group.pk}/{what}.{kind}")


def made(client, group, capture, kind: str = "pdf", what: str = "report") -> ReportJob:
    """Ask for a report and let the (immediate) worker make it."""
    with capture(execute=True):
        response = ask(client, group, kind, what)
    assert response.status_code == 302, response.content[:300]
    return ReportJob.objects.get(pk=response.url.rstrip("/").split("/")[-2])


def fetch_report(client, url: str) -> HttpResponse:
    """A report made in the background, as its asker gets it: POST to ask, the worker (run at
    once here) makes it, then the download from the job's page, read into one response."""
    with override_settings(TASKS=IMMEDIATE), TestCase.captureOnCommitCallbacks(execute=True):
        asked = client.post(url)
    if asked.status_code != 302 or "/reportjob/" not in asked.url:
        return asked
    job_id = asked.url.rstrip("/").split("/")[-2]
    response = client.get(reverse("admin:incidents_reportjob_download", args=[job_id]))
    if response.status_code != 200:
        return response
    content = HttpResponse(b"".join(response.streaming_content), status=response.status_code)
    for header in ("Content-Type", "Content-Disposition"):
        content[header] = response[header]
    return content


def pdf_text(content: bytes) -> str:
    document = pypdfium2.PdfDocument(content)
    return "\n".join(page.get_textpage().get_text_range() for page in document)


def download(client, job):
    return client.get(reverse("admin:incidents_reportjob_download", args=[job.pk]))


def test_asking_for_a_group_report_queues_a_job_and_answers_at_once(
    grouped, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = QUEUE
    team, group, _incidents = grouped
    client = client_of(team.supervisor(Stage.FAE_RETEST))

    with django_capture_on_commit_callbacks(execute=True):
        response = ask(client, group, "pdf")

    job = ReportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:incidents_reportjob_change", args=[job.pk])
    # Nothing was rendered in the request: the job waits in the queue for the worker.
    assert job.status == ReportJobStatus.QUEUED and not job.file
    assert DBTaskResult.objects.filter(pk=job.task_id).exists()
    page = client.get(response.url)
    assert page.status_code == 200
    assert 'data-testid="report-job-progress"' in page.content.decode()


def test_the_same_report_asked_twice_while_it_waits_is_one_job(grouped, settings):
    settings.TASKS = QUEUE
    team, group, _incidents = grouped
    client = client_of(team.admin)

    ask(client, group, "pdf")
    ask(client, group, "pdf")

    assert ReportJob.objects.count() == 1


def test_a_get_of_a_group_report_makes_nothing(grouped, settings):
    settings.TASKS = QUEUE
    team, group, _incidents = grouped

    response = client_of(team.admin).get(f"/admin/incidents/problemgroup/{group.pk}/report.pdf")

    assert response.status_code == 302
    assert response.url == reverse("admin:incidents_problemgroup_change", args=[group.pk])
    assert not ReportJob.objects.exists()


def test_the_worker_makes_the_pdf_with_every_incident_and_the_requester_downloads_it(
    grouped, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE
    team, group, incidents = grouped
    supervisor = team.supervisor(Stage.FAE_RETEST)
    supervisor.language = "zh-hans"
    supervisor.save(update_fields=["language"])
    client = client_of(supervisor)

    job = made(client, group, django_capture_on_commit_callbacks)

    assert job.status == ReportJobStatus.DONE
    assert (job.done, job.total, job.percent) == (3, 3, 100)
    response = download(client, job)
    assert response.status_code == 200
    assert f"FA-report-{group.number}.pdf" in response["Content-Disposition"]
    text = pdf_text(b"".join(response.streaming_content))
    assert f"失效分析报告 {group.number}" in text and "弱信号" in text
    for incident in incidents:
        assert f"异常事件 #{incident.pk} · {incident.device.serial_number}" in text
    # The job's page, in the asker's language: its state and the download.
    page = client.get(reverse("admin:incidents_reportjob_change", args=[job.pk])).content.decode()
    assert "可以下载" in page and "下载" in page and "我的报告" in page
    assert reverse("admin:incidents_reportjob_download", args=[job.pk]) in page


def test_the_worker_makes_the_workbook_one_sheet_per_part_with_every_incident(
    grouped, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE
    team, group, incidents = grouped
    client = client_of(team.admin)

    job = made(client, group, django_capture_on_commit_callbacks, kind="xlsx")

    book = openpyxl.load_workbook(io.BytesIO(b"".join(download(client, job).streaming_content)))
    listed = [row[0] for row in book["Incidents"].iter_rows(min_row=2, values_only=True)]
    assert listed == [f"#{incident.pk}" for incident in incidents]
    timeline = list(book["Timeline"].iter_rows(values_only=True))
    assert timeline[0][0] == "Incident"
    assert {row[0] for row in timeline[1:]} == {f"#{incident.pk}" for incident in incidents}
    assert book["Timeline"]["B2"].is_date


def test_the_group_workbook_is_written_in_write_only_mode(grouped, tmp_path):
    team, group, _incidents = grouped
    steps = []

    book = report_parts.group_report_xlsx_file(
        group=group,
        reader=team.admin,
        target=tmp_path / "group.xlsx",
        step=lambda done, total: steps.append((done, total)),
    )

    assert book.write_only
    assert steps[0] == (0, 3) and steps[-1] == (3, 3)


def test_progress_moves_part_by_part(grouped, tmp_path, monkeypatch):
    team, group, _incidents = grouped
    monkeypatch.setattr(report_parts, "INCIDENTS_PER_PART", 1)
    steps = []

    report_parts.group_report_pdf_file(
        group=group,
        reader=team.admin,
        target=tmp_path / "group.pdf",
        step=lambda done, total: steps.append((done, total)),
    )

    assert steps == [(0, 3), (1, 3), (2, 3), (3, 3)]
    # The parts are joined into one document, its pages numbered on from part to part.
    document = pypdfium2.PdfDocument(str(tmp_path / "group.pdf"))
    assert len(document) >= 4
    last = document[len(document) - 1].get_textpage().get_text_range()
    assert last.rstrip().endswith(str(len(document)))


def test_the_status_of_a_running_job_says_how_far_it_is(grouped):
    team, group, _incidents = grouped
    job = ReportJob.objects.create(
        kind="group_report",
        file_format="pdf",
        created_by=team.admin,
        problem_group=group,
        title="t",
        file_name="t.pdf",
        status=ReportJobStatus.RUNNING,
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
        done=1,
        total=4,
    )

    state = (
        client_of(team.admin).get(reverse("admin:incidents_reportjob_status", args=[job.pk])).json()
    )

    assert state == {
        "status": "running",
        "status_label": "Being made",
        "open": True,
        "done": 1,
        "total": 4,
        "percent": 25,
    }


def test_cancelling_stops_the_worker_at_its_next_part_and_keeps_no_file(
    grouped, settings, monkeypatch
):
    settings.TASKS = QUEUE
    team, group, _incidents = grouped
    monkeypatch.setattr(report_parts, "INCIDENTS_PER_PART", 1)
    client = client_of(team.admin)
    ask(client, group, "pdf")
    job = ReportJob.objects.get()
    make = report_parts.reports.incident_report

    def cancelled_meanwhile(incident):
        # The person presses Cancel while the worker renders the first incident.
        client.post(reverse("admin:incidents_reportjob_cancel", args=[job.pk]))
        return make(incident)

    monkeypatch.setattr(report_parts.reports, "incident_report", cancelled_meanwhile)

    report_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == ReportJobStatus.CANCELLED
    assert not job.file and job.done < 3
    assert not Notification.objects.filter(report_job=job).exists()
    assert download(client, job).status_code == 404


def test_a_job_cancelled_before_the_worker_takes_it_is_never_made(grouped, settings):
    settings.TASKS = QUEUE
    team, group, _incidents = grouped
    client = client_of(team.admin)
    ask(client, group, "xlsx")
    job = ReportJob.objects.get()

    client.post(reverse("admin:incidents_reportjob_cancel", args=[job.pk]))
    report_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == ReportJobStatus.CANCELLED and not job.file


def test_only_the_requester_and_administrators_open_and_download_a_report(
    grouped, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE
    team, group, _incidents = grouped
    requester = team.supervisor(Stage.FAE_RETEST)
    job = made(client_of(requester), group, django_capture_on_commit_callbacks, kind="xlsx")

    assert download(client_of(requester), job).status_code == 200
    assert download(client_of(AdminFactory()), job).status_code == 200
    other = client_of(team.staff[next(iter(team.staff))])
    for name in ("change", "status", "download", "cancel"):
        url = reverse(f"admin:incidents_reportjob_{name}", args=[job.pk])
        assert other.get(url).status_code == 404, name
    assert other.post(reverse("admin:incidents_reportjob_cancel", args=[job.pk])).status_code == 404
    listed = other.get(reverse("admin:incidents_reportjob_changelist")).content.decode()
    assert job.title not in listed
    mine = client_of(requester).get(reverse("admin:incidents_reportjob_changelist"))
    assert job.title in mine.content.decode()


def test_the_requester_is_notified_with_a_link_to_the_report(
    grouped, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE
    team, group, _incidents = grouped
    requester = team.supervisor(Stage.FAE_RETEST)
    requester.email = "fae.lead@example.com"
    requester.save(update_fields=["email"])

    job = made(client_of(requester), group, django_capture_on_commit_callbacks)

    notification = Notification.objects.get(recipient=requester, action=WorkflowAction.REPORT)
    assert notification.report_job == job
    assert notification.link == reverse("admin:incidents_reportjob_change", args=[job.pk])
    assert group.number in notification.text
    assert [m.to for m in mail.outbox] == [["fae.lead@example.com"]]
    listed = client_of(requester).get(reverse("admin:incidents_notification_changelist"))
    assert group.number in listed.content.decode()


def test_a_report_holds_only_what_its_reader_could_see_when_it_was_made(
    grouped, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE
    team, group, incidents = grouped
    hidden = incidents[0]
    hidden.device.project = "HIDDEN-NDA"
    hidden.device.save()
    ProjectAccess.objects.create(project="HIDDEN-NDA")
    client = client_of(team.supervisor(Stage.FAE_RETEST))

    job = made(client, group, django_capture_on_commit_callbacks, kind="xlsx")

    book = openpyxl.load_workbook(io.BytesIO(b"".join(download(client, job).streaming_content)))
    listed = [row[0] for row in book["Incidents"].iter_rows(min_row=2, values_only=True)]
    assert listed == [f"#{incident.pk}" for incident in incidents[1:]]


def test_files_past_the_retention_period_are_removed(
    grouped, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE
    team, group, _incidents = grouped
    client = client_of(team.admin)
    job = made(client, group, django_capture_on_commit_callbacks, kind="xlsx")
    storage, name = job.file.storage, job.file.name
    assert storage.exists(name)
    assert job.expires_at > timezone.now() + timedelta(days=6)

    assert report_jobs_remove_expired() == 0
    ReportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    call_command("send_digest", stdout=io.StringIO())

    job.refresh_from_db()
    assert job.status == ReportJobStatus.EXPIRED and not job.file
    assert not storage.exists(name)
    assert download(client, job).status_code == 404


def test_a_running_job_whose_worker_died_is_marked_failed(grouped, settings):
    settings.REPORT_JOB_STALLED_AFTER_SECONDS = 60
    team, group, _incidents = grouped
    long_ago = timezone.now() - timedelta(minutes=5)
    job = ReportJob.objects.create(
        kind="group_report",
        file_format="pdf",
        created_by=team.admin,
        problem_group=group,
        title="t",
        file_name="t.pdf",
        status=ReportJobStatus.RUNNING,
        started_at=long_ago,
        heartbeat_at=long_ago,
    )

    page = client_of(team.admin).get(reverse("admin:incidents_reportjob_change", args=[job.pk]))

    job.refresh_from_db()
    assert job.status == ReportJobStatus.FAILED and job.error
    assert job.error in page.content.decode()
    assert report_jobs_fail_stalled() == 0


def test_the_8d_pdf_is_a_job_and_its_workbook_stays_immediate(
    grouped, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE
    team, group, incidents = grouped
    client = client_of(team.admin)

    job = made(client, group, django_capture_on_commit_callbacks, what="8d")

    text = pdf_text(b"".join(download(client, job).streaming_content))
    assert f"8D report {group.number}" in text
    assert all(f"#{incident.pk}" in text for incident in incidents)
    workbook = client.get(f"/admin/incidents/problemgroup/{group.pk}/8d.xlsx")
    assert workbook.status_code == 200 and workbook["Content-Type"].startswith("application/vnd")


def test_an_incidents_own_report_stays_immediate(grouped):
    team, _group, incidents = grouped

    response = client_of(team.admin).get(f"/admin/incidents/incident/{incidents[0].pk}/report.pdf")

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert not ReportJob.objects.exists()


def export(client, **extra):
    return client.post(
        reverse("admin:locations_device_export"), {"format": "0", "resource": "0", **extra}
    )


def test_a_large_list_export_becomes_a_job_written_row_by_row(
    settings, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE
    settings.EXPORT_IMMEDIATE_MAX_ROWS = 2
    serials = [DeviceFactory(serial_number=f"SN-JOB-{n}").serial_number for n in range(3)]
    DeviceFactory(serial_number="SN-SECRET", project="HIDDEN-NDA")
    ProjectAccess.objects.create(project="HIDDEN-NDA")
    person = StaffFactory()
    client = client_of(person)

    with django_capture_on_commit_callbacks(execute=True):
        response = export(client)

    job = ReportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:incidents_reportjob_change", args=[job.pk])
    assert job.status == ReportJobStatus.DONE and job.kind == "export"
    sheet = openpyxl.load_workbook(
        io.BytesIO(b"".join(download(client, job).streaming_content))
    ).active
    column = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sorted(column) == sorted(serials)
    assert Notification.objects.filter(recipient=person, report_job=job).exists()


def test_a_small_list_export_stays_immediate(settings):
    settings.EXPORT_IMMEDIATE_MAX_ROWS = 2000
    DeviceFactory(serial_number="SN-NOW")

    response = export(client_of(StaffFactory()))

    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    assert not ReportJob.objects.exists()


@pytest.mark.parametrize("job_id", ["abc", "0" * 40, "9" * 30, "%00", "ü" * 5, "x" * 5000])
def test_hostile_job_ids_are_not_found(grouped, settings, job_id):
    settings.TASKS = QUEUE
    team, group, _incidents = grouped
    client = client_of(team.admin)
    ask(client, group, "pdf")
    job = ReportJob.objects.get()
    assert client.get(f"/admin/incidents/reportjob/{job.pk}/status/").status_code == 200

    for name in ("change", "status", "download", "cancel"):
        url = f"/admin/incidents/reportjob/{job_id}/{name}/"
        # Not found (a NUL is refused as a bad request before any view).
        assert client.get(url).status_code in (400, 404), (name, job_id)
        assert client.post(url).status_code in (400, 404), (name, job_id)


def test_the_group_page_asks_for_reports_with_buttons_and_links_my_reports(grouped, settings):
    settings.TASKS = QUEUE
    team, group, _incidents = grouped
    client = client_of(team.admin)
    ask(client, group, "xlsx")
    job = ReportJob.objects.get()

    page = client.get(reverse("admin:incidents_problemgroup_change", args=[group.pk]))

    html = page.content.decode()
    assert f'action="/admin/incidents/problemgroup/{group.pk}/report.pdf"' in html
    assert reverse("admin:incidents_reportjob_changelist") in html
    assert reverse("admin:incidents_reportjob_change", args=[job.pk]) in html


def test_a_large_incident_export_reads_each_chunk_in_a_few_queries(
    settings, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    from tests.factories import IncidentFactory

    settings.TASKS = QUEUE
    settings.EXPORT_IMMEDIATE_MAX_ROWS = 2
    incidents = [IncidentFactory() for _n in range(12)]
    admin_person = AdminFactory()
    client = client_of(admin_person)
    assert client.post(
        reverse("admin:incidents_incident_export"), {"format": "0", "resource": "0"}
    ).url.endswith("/change/")
    job = ReportJob.objects.get()

    # 14 here; reading each row's device on its own would add one query a row.
    with django_assert_max_num_queries(20):
        report_job_run(job_id=job.pk)

    job.refresh_from_db()
    sheet = openpyxl.load_workbook(io.BytesIO(job.file.read())).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert sorted(row[0] for row in rows) == [incident.pk for incident in incidents]
    assert {row[1] for row in rows} == {incident.device.serial_number for incident in incidents}


def test_a_group_number_naming_other_folders_stays_a_file_name(
    grouped, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE
    team, group, _incidents = grouped
    group.number = "../../../escaped"
    group.save(update_fields=["number"])
    client = client_of(team.admin)

    job = made(client, group, django_capture_on_commit_callbacks, kind="xlsx")

    assert job.status == ReportJobStatus.DONE, job.error
    assert job.file.name.startswith("report-jobs/") and ".." not in job.file.name
    response = download(client, job)
    assert response.status_code == 200 and "escaped.xlsx" in response["Content-Disposition"]
