"""Legacy workbook imports from the admin: the dry run and the confirmed import are queued as
background tasks (django-tasks, stored in the database) and run by `manage.py db_worker`, so a
100,000-row workbook never times the upload out and a restart of the web server loses nothing.

Progress and the worker's heartbeat go to the cache, which every process sees (Redis in
production, files under DATA_DIR in embedded mode) and which the import's own transaction never
waits on; reports and status go to the database. A job whose worker died gives no heartbeat:
whoever looks at it (the job page, the job list, a worker starting) marks it failed once it has
been silent for LEGACY_IMPORT_STALLED_AFTER_SECONDS, and it can be started again."""

import logging
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import TaskResultStatus, task
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from config.kit.spreadsheets import WorkbookRefused, workbook_check
from incidents.legacy.importer import ImportReport, LegacyImporter
from incidents.models import Employee, LegacyImport, LegacyImportStatus
from incidents.services.errors import WorkflowError
from incidents.services.heartbeats import beating, fail_silent, last_beat

logger = logging.getLogger(__name__)
CACHE_SECONDS = 60 * 60
RUNNING = (LegacyImportStatus.CHECKING, LegacyImportStatus.IMPORTING)


class WorkerLost(Exception):
    """The worker running a legacy import stopped without finishing it (recorded on its task)."""


def _progress_key(job_id) -> str:
    return f"legacy-import:{job_id}:progress"


def _heartbeat_key(job_id) -> str:
    return f"legacy-import:{job_id}:heartbeat"


# --- the workbook itself ---------------------------------------------------------------------
def legacy_workbook_check(*, workbook: str | Path | BinaryIO) -> None:
    """Refuse a workbook before anything opens it: larger than LEGACY_IMPORT_MAX_BYTES, not a
    zip archive (as every .xlsx is), or packed like a zip bomb (config.kit.spreadsheets). The
    upload, the worker and the import_legacy command all call it."""
    try:
        if isinstance(workbook, str | Path):
            with open(workbook, "rb") as stream:
                _check(stream)
        else:
            _check(workbook)
    except WorkbookRefused as error:
        raise WorkflowError(str(error)) from error


def _check(stream: BinaryIO) -> None:
    workbook_check(
        stream,
        max_bytes=settings.LEGACY_IMPORT_MAX_BYTES,
        max_unpacked=settings.LEGACY_IMPORT_MAX_UNPACKED_BYTES,
    )


def _report_data(report: ImportReport) -> dict:
    return {
        "ok": report.ok,
        "sheets": [
            {
                "kind": kind,
                "title": report.sheet_titles.get(kind, kind),
                "rows": summary.rows,
                "created": summary.created,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "skipped": summary.skipped,
                "errors": summary.errors,
            }
            for kind, summary in report.summaries.items()
        ],
        "errors": [str(error) for error in report.errors],
        "skipped": [str(line) for line in report.skipped],
        # Each change to people the workbook asks for, field by field, and whether it was made.
        "people_changes": [
            {"key": change.key, "line": str(change), "applied": change.applied}
            for change in report.people_changes
        ],
    }


def _failure(message: str) -> dict:
    return {"ok": False, "sheets": [], "errors": [message]}


def _stopped_message(*, dry_run: bool) -> str:
    if dry_run:
        return _(
            "The background worker stopped before the check was finished. Nothing was "
            "imported: start it again."
        )
    return _(
        "The background worker stopped before the import was finished. An import is written "
        "all at once or not at all: start it again."
    )


# --- the work, in the worker -----------------------------------------------------------------
def legacy_import_run(*, job_id, dry_run: bool, attempt: int) -> None:
    """One attempt at the check (dry run) or the import of a job; run by the worker through the
    `legacy_import` task (below). An attempt that is no longer the job's does nothing."""
    running = LegacyImportStatus.CHECKING if dry_run else LegacyImportStatus.IMPORTING
    job = LegacyImport.objects.filter(pk=job_id).select_related("created_by").first()
    if job is None or job.attempt != attempt or job.status != running:
        logger.info("Legacy import %s: attempt %s is no longer wanted", job_id, attempt)
        return
    this_attempt = LegacyImport.objects.filter(pk=job_id, attempt=attempt)

    def progress(kind: str, done: int, total: int) -> None:
        phase = "check" if dry_run else "import"
        value = {"attempt": attempt, "phase": phase, "kind": kind, "done": done, "total": total}
        cache.set(_progress_key(job_id), value, CACHE_SECONDS)

    try:
        with (
            # However long the importer goes without reporting progress.
            beating(
                _heartbeat_key(job_id),
                every=settings.LEGACY_IMPORT_HEARTBEAT_SECONDS,
                attempt=attempt,
            ),
            translation.override(job.language),
            job.file.open("rb") as workbook,
        ):
            legacy_workbook_check(workbook=workbook)
            # Changes to people are made only as confirmed after the check, and only those.
            confirmed = () if dry_run else job.dry_run_report.get("people_confirmed", ())
            report = LegacyImporter(
                workbook, user=job.created_by, progress=progress, confirmed_people=confirmed
            ).run(dry_run=dry_run)
    except Exception as error:  # a broken file must end as a clear status, not a silent task
        logger.exception("Legacy import %s failed", job_id)
        with translation.override(job.language):
            message = _("Could not read it: %s") % error
        this_attempt.update(
            status=LegacyImportStatus.FAILED, report=_failure(message), finished_at=timezone.now()
        )
        return
    except BaseException:  # the worker is being stopped in the middle (SIGTERM twice, Ctrl+C)
        with translation.override(job.language):
            message = _stopped_message(dry_run=dry_run)
        this_attempt.update(
            status=LegacyImportStatus.FAILED, report=_failure(message), finished_at=timezone.now()
        )
        raise
    with translation.override(job.language):
        data = _report_data(report)
    if dry_run:
        status = LegacyImportStatus.CHECKED if report.ok else LegacyImportStatus.INVALID
        this_attempt.update(dry_run_report=data, status=status)
    else:
        status = LegacyImportStatus.DONE if report.ok else LegacyImportStatus.INVALID
        this_attempt.update(report=data, status=status, finished_at=timezone.now())


@task()
def legacy_import(*, job_id: str, dry_run: bool, attempt: int) -> None:
    """Check (a dry run) or import an uploaded legacy workbook: one attempt of its job."""
    legacy_import_run(job_id=job_id, dry_run=dry_run, attempt=attempt)


# --- queueing, and what the pages see --------------------------------------------------------
def _enqueue(job: LegacyImport, *, dry_run: bool) -> None:
    """Save the job as a new attempt and queue its task once the transaction commits."""
    job.attempt += 1
    job.queued_at = timezone.now()
    job.task_id = ""
    job.save()
    cache.delete_many([_progress_key(job.pk), _heartbeat_key(job.pk)])
    job_id, attempt = str(job.pk), job.attempt

    def enqueue() -> None:
        result = legacy_import.enqueue(job_id=job_id, dry_run=dry_run, attempt=attempt)
        LegacyImport.objects.filter(pk=job_id, attempt=attempt).update(task_id=str(result.id))

    transaction.on_commit(enqueue)


def _task_row(job: LegacyImport):
    """The queue's row for the job's current attempt, where the queue is the database."""
    if not job.task_id or not isinstance(legacy_import.get_backend(), DatabaseBackend):
        return None
    try:
        return DBTaskResult.objects.filter(pk=job.task_id).first()
    except ValidationError:
        return None


def _last_sign_of_life(job: LegacyImport) -> float | None:
    """When the worker of a running job was last known alive (a Unix time); None while the job
    waits in the queue, which is no failure: the next worker to start runs it."""
    if (beat := last_beat(_heartbeat_key(job.pk), attempt=job.attempt)) is not None:
        return beat
    row = _task_row(job)
    if row is not None:
        if row.status == TaskResultStatus.READY:
            return None
        if row.status == TaskResultStatus.RUNNING and row.started_at:
            return row.started_at.timestamp()
        return 0.0  # the task ended without a word on the job
    return job.queued_at.timestamp() if job.queued_at else 0.0


def legacy_import_waiting(job: LegacyImport) -> bool:
    """Whether a running job is still in the queue, waiting for a worker to take it."""
    return job.status in RUNNING and _last_sign_of_life(job) is None


def legacy_import_progress(job: LegacyImport) -> dict:
    """How far the current attempt of a job is: phase, sheet kind, rows done and total."""
    progress = cache.get(_progress_key(job.pk)) or {}
    return progress if progress.get("attempt") == job.attempt else {}


def _fail_stalled(job: LegacyImport) -> bool:
    with translation.override(job.language):
        message = _stopped_message(dry_run=job.status == LegacyImportStatus.CHECKING)
    with transaction.atomic():
        failed = LegacyImport.objects.filter(
            pk=job.pk, status=job.status, attempt=job.attempt
        ).update(
            status=LegacyImportStatus.FAILED, report=_failure(message), finished_at=timezone.now()
        )
        if not failed:
            return False
        if (row := _task_row(job)) is not None:
            DBTaskResult.objects.filter(pk=row.pk, status=TaskResultStatus.RUNNING).update(
                status=TaskResultStatus.FAILED,
                finished_at=timezone.now(),
                exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
                traceback=f"{WorkerLost.__qualname__}: {message}",
            )
    logger.warning("Legacy import %s: its worker stopped; marked failed", job.pk)
    cache.delete(_progress_key(job.pk))
    job.refresh_from_db()
    return True


def legacy_import_fail_stalled(*, job: LegacyImport | None = None) -> int:
    """Mark failed the running jobs (or this one) whose worker has given no sign of life for
    LEGACY_IMPORT_STALLED_AFTER_SECONDS; return how many. A job given is refreshed in place."""
    jobs = [job] if job is not None else LegacyImport.objects.filter(status__in=RUNNING)
    return fail_silent(
        [each for each in jobs if each.status in RUNNING],
        last_sign_of_life=_last_sign_of_life,
        silent_for=settings.LEGACY_IMPORT_STALLED_AFTER_SECONDS,
        fail=_fail_stalled,
    )


# --- what the admin calls --------------------------------------------------------------------
def _check_permission(by: Employee) -> None:
    if not by.has_perm("incidents.add_legacyimport"):
        raise WorkflowError(_("Only administrators import legacy workbooks."))


@transaction.atomic
def legacy_import_start(*, upload: UploadedFile, by: Employee) -> LegacyImport:
    """Keep the uploaded workbook and queue its check (a dry run)."""
    _check_permission(by)
    if not (upload.name or "").lower().endswith(".xlsx"):
        raise WorkflowError(_("Upload the workbook as an .xlsx file."))
    legacy_workbook_check(workbook=upload)
    job = LegacyImport(
        original_name=upload.name[:255],
        created_by=by,
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )
    job.file.save(upload.name, upload, save=False)
    _enqueue(job, dry_run=True)
    return job


@transaction.atomic
def legacy_import_confirm(*, job: LegacyImport, by: Employee, people: bool = False) -> LegacyImport:
    """Queue the import of a checked workbook, once. With `people` the changes to people its
    check listed are confirmed too (and only those are made); without, nobody already in the
    product is changed and no role is granted."""
    job = LegacyImport.objects.select_for_update().get(pk=job.pk)
    _check_permission(by)
    if job.status != LegacyImportStatus.CHECKED:
        raise WorkflowError(
            _("This workbook cannot be imported now (%(status)s).")
            % {"status": job.get_status_display()}
        )
    listed = [change["key"] for change in job.dry_run_report.get("people_changes", [])]
    job.dry_run_report = {**job.dry_run_report, "people_confirmed": listed if people else []}
    job.status = LegacyImportStatus.IMPORTING
    _enqueue(job, dry_run=False)
    return job


@transaction.atomic
def legacy_import_retry(*, job: LegacyImport, by: Employee) -> LegacyImport:
    """Start a failed job again: its import if the check had passed, else its check."""
    job = LegacyImport.objects.select_for_update().get(pk=job.pk)
    _check_permission(by)
    if job.status != LegacyImportStatus.FAILED:
        raise WorkflowError(
            _("Only a failed import can be started again (this one: %(status)s).")
            % {"status": job.get_status_display()}
        )
    dry_run = not job.dry_run_report.get("ok")
    job.status = LegacyImportStatus.CHECKING if dry_run else LegacyImportStatus.IMPORTING
    job.report = {}
    if dry_run:
        job.dry_run_report = {}
    job.finished_at = None
    _enqueue(job, dry_run=dry_run)
    return job
