"""Legacy workbook import in the admin: upload, dry-run report, confirm, import — and refused to
anyone but administrators."""

import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from incidents.models import Incident, LegacyImport, LegacyImportStatus
from locations.models import Device

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "legacy_sample.xlsx"


@pytest.fixture(autouse=True)
def immediate_tasks(settings):
    """Run the queued work at once, where the test can wait for it; test_legacy_jobs and the
    browser test cover the real queue and worker."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def upload(client, content: bytes | None = None, name: str = "legacy.xlsx"):
    return client.post(
        reverse("admin:incidents_legacyimport_add"),
        {"workbook": SimpleUploadedFile(name, content or SAMPLE.read_bytes())},
    )


class LegacyImportAdminTests:
    def test_upload_checks_first_and_imports_only_when_confirmed(
        self, admin_client, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = upload(admin_client)
        job = LegacyImport.objects.get()
        assert response.status_code == 302
        assert job.status == LegacyImportStatus.CHECKED
        assert not Device.objects.filter(serial_number__startswith="LG").exists()

        page = admin_client.get(reverse("admin:incidents_legacyimport_change", args=[job.pk]))
        assert "Import it" in page.content.decode()
        status = admin_client.get(reverse("admin:incidents_legacyimport_status", args=[job.pk]))
        assert status.json()["status"] == "checked"

        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(reverse("admin:incidents_legacyimport_confirm", args=[job.pk]))

        job.refresh_from_db()
        assert job.status == LegacyImportStatus.DONE
        assert {s["kind"]: s["created"] for s in job.report["sheets"]}["register"] == 40
        assert Incident.objects.filter(device__serial_number__startswith="LG").count() == 40

    def test_a_workbook_with_bad_rows_lists_them_and_cannot_be_confirmed(
        self, admin_client, django_capture_on_commit_callbacks, tmp_path
    ):
        import openpyxl

        book = openpyxl.load_workbook(SAMPLE)
        book["异常设备登记"]["N5"] = "2024-02-30"
        path = tmp_path / "bad.xlsx"
        book.save(path)

        with django_capture_on_commit_callbacks(execute=True):
            upload(admin_client, path.read_bytes())
        job = LegacyImport.objects.get()
        admin_client.post(reverse("admin:incidents_legacyimport_confirm", args=[job.pk]))

        job.refresh_from_db()
        assert job.status == LegacyImportStatus.INVALID
        assert job.dry_run_report["errors"] == [
            "异常设备登记!5: 登记时间: '2024-02-30' is not a date "
            "(use e.g. 2025-03-04 10:22, 2025/3/4 or 2025.03.04)"
        ]
        assert not Device.objects.filter(serial_number__startswith="LG").exists()

    def test_a_file_that_is_not_a_workbook_is_refused_on_the_form_with_a_message(
        self, admin_client
    ):
        response = upload(admin_client, b"not a zip file")

        assert response.status_code == 200
        assert "it is not a zip archive" in response.content.decode()
        assert not LegacyImport.objects.exists()

    def test_a_workbook_that_cannot_be_read_ends_as_failed_with_a_message(
        self, admin_client, django_capture_on_commit_callbacks, tmp_path
    ):
        path = tmp_path / "empty.xlsx"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("readme.txt", "a zip archive, but no workbook in it")

        with django_capture_on_commit_callbacks(execute=True):
            upload(admin_client, path.read_bytes())

        job = LegacyImport.objects.get()
        assert job.status == LegacyImportStatus.FAILED
        assert job.report["errors"][0].startswith("Could not read it")

    def test_other_file_types_are_refused_on_the_form(self, admin_client):
        response = upload(admin_client, b"a,b", name="legacy.csv")

        assert response.status_code == 200
        assert ".xlsx" in response.content.decode()
        assert not LegacyImport.objects.exists()

    def test_supervisors_and_staff_cannot_import(self, supervisor_client, staff_client):
        for client in (supervisor_client, staff_client):
            assert upload(client).status_code == 403
        assert not LegacyImport.objects.exists()


class ReportLanguageTests:
    def test_the_report_speaks_the_language_of_the_person_who_uploaded(
        self, admin_client, django_capture_on_commit_callbacks, tmp_path
    ):
        import openpyxl

        book = openpyxl.load_workbook(SAMPLE)
        book["异常设备登记"]["K5"] = "未知节点"
        path = tmp_path / "bad.xlsx"
        book.save(path)
        admin_client.post(reverse("set_language"), {"language": "zh-hans", "next": "/admin/"})

        with django_capture_on_commit_callbacks(execute=True):
            upload(admin_client, path.read_bytes())

        assert LegacyImport.objects.get().dry_run_report["errors"] == [
            "异常设备登记!5: 当前节点: 未知节点“未知节点”"
        ]
