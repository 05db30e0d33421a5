"""Background work, queued in the database and run by `manage.py db_worker`."""

from django_tasks import task

from incidents.services.legacy import legacy_import_run
from incidents.services.report_jobs import report_job_run


@task()
def legacy_import(*, job_id: str, dry_run: bool, attempt: int) -> None:
    """Check (a dry run) or import an uploaded legacy workbook: one attempt of its job."""
    legacy_import_run(job_id=job_id, dry_run=dry_run, attempt=attempt)


@task()
def report_job(*, job_id: str) -> None:
    """Make a report or an export too large for a request (incidents.ReportJob)."""
    report_job_run(job_id=job_id)
