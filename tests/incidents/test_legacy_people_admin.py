"""The legacy import's job page lists the changes to people its check found, field by field, and
makes them only when the administrator ticks them when confirming the import."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from incidents.models import Department, Employee, LegacyImport, LegacyImportStatus
from incidents.services import employee_create
from tests.incidents.test_legacy_people import ROWS, workbook

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def person():
    qa = Department.objects.create(code="QA", name="Quality")
    return employee_create(
        employee_number="20001", username="zhang", display_name="Zhang San", department=qa
    )


def checked_job(client, tmp_path, capture) -> LegacyImport:
    path = workbook(tmp_path / "people.xlsx", employees=ROWS)
    with capture(execute=True):
        client.post(
            reverse("admin:incidents_legacyimport_add"),
            {"workbook": SimpleUploadedFile("people.xlsx", path.read_bytes())},
        )
    job = LegacyImport.objects.get()
    assert job.status == LegacyImportStatus.CHECKED, job.dry_run_report
    return job


def confirm(client, job, capture, **data) -> LegacyImport:
    with capture(execute=True):
        client.post(reverse("admin:incidents_legacyimport_confirm", args=[job.pk]), data)
    job.refresh_from_db()
    return job


class ConfirmingChangesToPeopleTests:
    def test_the_check_lists_each_change_and_offers_to_make_them(
        self, admin_client, tmp_path, person, django_capture_on_commit_callbacks
    ):
        job = checked_job(admin_client, tmp_path, django_capture_on_commit_callbacks)

        page = admin_client.get(reverse("admin:incidents_legacyimport_change", args=[job.pk]))

        html = page.content.decode()
        assert 'data-testid="legacy-people-changes"' in html
        assert "员工!2: Zhang San (20001): 姓名: Zhang San → 张三" in html
        assert "员工!2: Zhang San (20001): 部门: Quality (QA) → FAE" in html
        assert 'data-testid="legacy-confirm-people"' in html
        assert "Also make the 3 changes to people listed above" in html

    def test_confirmed_without_ticking_them_nobody_changes(
        self, admin_client, tmp_path, person, django_capture_on_commit_callbacks
    ):
        job = checked_job(admin_client, tmp_path, django_capture_on_commit_callbacks)

        job = confirm(admin_client, job, django_capture_on_commit_callbacks)

        assert job.status == LegacyImportStatus.DONE
        person.refresh_from_db()
        assert (person.display_name, person.department.code) == ("Zhang San", "QA")
        assert not any(change["applied"] for change in job.report["people_changes"])
        assert Employee.objects.filter(employee_number="20002").exists()
        page = admin_client.get(reverse("admin:incidents_legacyimport_change", args=[job.pk]))
        assert "is already in the product" in page.content.decode()

    def test_ticked_the_listed_changes_are_made(
        self, admin_client, tmp_path, person, django_capture_on_commit_callbacks
    ):
        job = checked_job(admin_client, tmp_path, django_capture_on_commit_callbacks)

        job = confirm(admin_client, job, django_capture_on_commit_callbacks, people="confirm")

        person.refresh_from_db()
        assert (person.display_name, person.department.code) == ("张三", "FAE")
        assert person.has_role("supervisor")
        assert all(change["applied"] for change in job.report["people_changes"])
