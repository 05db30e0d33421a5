"""The background tasks are defined beside the work they run, and found under the names the
tasks queued before they moved there carry (`incidents.tasks.<task>`)."""

import pytest
from django.utils.module_loading import import_string
from django_tasks_db.models import DBTaskResult

from incidents.services import legacy, report_jobs
from incidents.services.report_jobs import group_report_start
from tests.factories import ProblemGroupFactory, StaffFactory

QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.mark.django_db
class TaskNamesTests:
    def test_the_tasks_are_found_under_the_names_queued_before_they_moved(self):
        assert import_string("incidents.tasks.legacy_import") is legacy.legacy_import
        assert import_string("incidents.tasks.report_job") is report_jobs.report_job

    def test_a_job_queued_under_the_old_name_finds_the_same_task(
        self, settings, django_capture_on_commit_callbacks
    ):
        settings.TASKS = QUEUE
        with django_capture_on_commit_callbacks(execute=True):
            job = group_report_start(
                group=ProblemGroupFactory(), file_format="pdf", by=StaffFactory()
            )
        job.refresh_from_db()
        row = DBTaskResult.objects.get(pk=job.task_id)
        row.task_path = "incidents.tasks.report_job"

        assert row.task.func is report_jobs.report_job.func
