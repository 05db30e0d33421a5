"""Reports and exports too large for a request, made by the background worker (django-tasks,
`manage.py db_worker`, as legacy imports are): a problem group's report (PDF, XLSX), its 8D
report as PDF, and list exports of more than EXPORT_IMMEDIATE_MAX_ROWS rows.

Asking makes a job (ReportJob) and returns at once; the worker writes the file in parts
(incidents.report_parts, config.kit.spreadsheets), reporting how far it is on the job row, stops
between parts when the job is cancelled, keeps the file for REPORT_JOB_RETENTION_DAYS and tells
the person who asked (a notification, e-mailed). Only they and administrators may download it.
The file holds what its reader could see when it was made (access rules read in the worker).

The worker beats every REPORT_JOB_HEARTBEAT_SECONDS from a thread of its own (in the cache,
which every process sees); a running job silent for REPORT_JOB_STALLED_AFTER_SECONDS lost its
worker and is marked failed by whoever looks at it (its page, the list, a worker starting).
Expired files are removed by `report_jobs_remove_expired`, run when a worker starts and by the
daily digest."""

import logging
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

from incidents import report_parts
from incidents.models import Employee, ProblemGroup, ReportJob, ReportJobKind, ReportJobStatus
from incidents.services.errors import WorkflowError
from incidents.services.heartbeats import beating, fail_silent, last_beat
from incidents.services.notifications import notify_report_ready

logger = logging.getLogger(__name__)
FORMATS = ("pdf", "xlsx")


def retention() -> timedelta:
    return timedelta(days=settings.REPORT_JOB_RETENTION_DAYS)


class ReportCancelled(Exception):
    """The job was cancelled while the worker made it."""


def _heartbeat_key(job_id) -> str:
    return f"report-job:{job_id}:heartbeat"


# --- asking for a report ---------------------------------------------------------------------
def _language() -> str:
    return translation.get_language() or settings.LANGUAGE_CODE


@transaction.atomic
def report_job_start(
    *,
    kind: ReportJobKind,
    file_format: str,
    by: Employee,
    title: str,
    file_name: str,
    group: ProblemGroup | None = None,
    params: dict | None = None,
) -> ReportJob:
    """Queue a report for `by` (once the transaction commits). The same report asked again
    while it is still being made is the same job."""
    if not by.is_active:
        raise WorkflowError(_("Only an active account may ask for a report."))
    if group is not None:
        same = ReportJob.objects.filter(
            created_by=by,
            kind=kind,
            file_format=file_format,
            problem_group=group,
            status__in=ReportJob.OPEN,
        ).first()
        if same is not None:
            return same
    job = ReportJob.objects.create(
        kind=kind,
        file_format=file_format,
        created_by=by,
        problem_group=group,
        params=params or {},
        title=title[:255],
        file_name=file_name[:255],
        language=_language(),
    )
    job_id = str(job.pk)

    def enqueue() -> None:
        result = report_job.enqueue(job_id=job_id)
        ReportJob.objects.filter(pk=job_id).update(task_id=str(result.id))

    transaction.on_commit(enqueue)
    return job


def group_report_start(*, group: ProblemGroup, file_format: str, by: Employee) -> ReportJob:
    """A problem group's failure-analysis report, for someone who may see the group."""
    if file_format not in FORMATS:
        raise WorkflowError(_("Reports are made as PDF or XLSX."))
    return report_job_start(
        kind=ReportJobKind.GROUP_REPORT,
        file_format=file_format,
        by=by,
        group=group,
        title=_("Failure-analysis report %(number)s (%(format)s)")
        % {"number": group.number, "format": file_format.upper()},
        file_name=f"FA-report-{group.number}.{file_format}",
    )


def eightd_report_start(*, group: ProblemGroup, by: Employee) -> ReportJob:
    """A problem group's 8D report as PDF."""
    return report_job_start(
        kind=ReportJobKind.EIGHTD,
        file_format="pdf",
        by=by,
        group=group,
        title=_("8D report %(number)s (PDF)") % {"number": group.number},
        file_name=f"8D-report-{group.number}.pdf",
    )


def export_start(
    *, by: Employee, model_label: str, verbose_name: str, file_format: str, params: dict
) -> ReportJob:
    """A list export too large for a request: `params` say what the worker exports (the
    list's admin rebuilds it for `by`, config.kit.spreadsheets)."""
    today = timezone.localdate().isoformat()
    return report_job_start(
        kind=ReportJobKind.EXPORT,
        file_format=file_format,
        by=by,
        title=_("Export of %(list)s, %(count)s rows (%(format)s)")
        % {
            "list": verbose_name,
            "count": len(params.get("pks", ())),
            "format": file_format.upper(),
        },
        file_name=f"{model_label.split('.')[-1]}-{today}.{file_format}",
        params={**params, "model": model_label},
    )


# --- who may do what --------------------------------------------------------------------------
def report_job_may_open(job: ReportJob, user) -> bool:
    """Only the person who asked for a report, and administrators, see it and download it."""
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and (job.created_by_id == user.pk or user.is_admin)
    )


@transaction.atomic
def report_job_cancel(*, job: ReportJob, by: Employee) -> ReportJob:
    """Stop a job that is waiting or being made; the worker stops at its next part and keeps
    no file."""
    job = ReportJob.objects.select_for_update().get(pk=job.pk)
    if not report_job_may_open(job, by):
        raise WorkflowError(
            _("Only the person who asked for this report, or an administrator, may cancel it.")
        )
    if not job.is_open:
        raise WorkflowError(
            _("This report cannot be cancelled now (%(status)s).")
            % {"status": job.get_status_display()}
        )
    job.status = ReportJobStatus.CANCELLED
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "finished_at"])
    return job


# --- the work, in the worker -----------------------------------------------------------------
def _write(job: ReportJob, target: Path, step) -> None:
    reader = job.created_by
    if job.kind == ReportJobKind.EXPORT:
        _write_export(job, target, step)
    elif job.problem_group is None:
        raise WorkflowError(_("The problem group of this report no longer exists."))
    elif job.kind == ReportJobKind.EIGHTD:
        report_parts.eightd_report_pdf_file(
            group=job.problem_group, reader=reader, target=target, step=step
        )
    elif job.file_format == "xlsx":
        report_parts.group_report_xlsx_file(
            group=job.problem_group, reader=reader, target=target, step=step
        )
    else:
        report_parts.group_report_pdf_file(
            group=job.problem_group, reader=reader, target=target, step=step
        )


def _write_export(job: ReportJob, target: Path, step) -> None:
    """The list's own admin writes the export, as the person who asked sees the list now."""
    from django.apps import apps
    from django.contrib import admin
    from django.http import HttpRequest

    model = apps.get_model(job.params["model"])
    request = HttpRequest()
    request.method = "GET"
    request.user = job.created_by
    request.LANGUAGE_CODE = job.language
    admin.site.get_model_admin(model).export_to_file(
        request=request, params=job.params, target=target, step=step
    )


def _give_way() -> None:
    """A report takes minutes of CPU; people's requests on the same machine come first: the
    worker's thread runs at niceness REPORT_JOB_NICENESS from now on (`make bench`, section
    reports, measures a person's incident list while a report is made)."""
    niceness = settings.REPORT_JOB_NICENESS
    try:
        if os.getpriority(os.PRIO_PROCESS, 0) < niceness:
            os.setpriority(os.PRIO_PROCESS, 0, niceness)
    except (AttributeError, OSError):  # not on this platform, or not allowed: run as it is
        logger.info("Could not lower the priority of the report worker")


def report_job_run(*, job_id) -> None:
    """Make the job's file: run by the worker through the `report_job` task (below).
    A job no longer waiting (cancelled, or taken by another worker) is left alone."""
    taken = ReportJob.objects.filter(pk=job_id, status=ReportJobStatus.QUEUED).update(
        status=ReportJobStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now()
    )
    if not taken:
        logger.info("Report job %s is no longer waiting", job_id)
        return
    job = ReportJob.objects.select_related("created_by", "problem_group__owner").get(pk=job_id)
    running = ReportJob.objects.filter(pk=job_id, status=ReportJobStatus.RUNNING)
    _give_way()
    last_write = [0.0]

    def step(done: int, total: int) -> None:
        if not running.exists():
            raise ReportCancelled
        now = time.monotonic()
        if now - last_write[0] >= 0.5 or done >= total:
            last_write[0] = now
            running.update(done=done, total=total, heartbeat_at=timezone.now())

    try:
        with (
            beating(_heartbeat_key(job_id), every=settings.REPORT_JOB_HEARTBEAT_SECONDS),
            translation.override(job.language),
            tempfile.TemporaryDirectory(prefix="report-job-") as folder,
        ):
            # Not the download's name: a group's number is people's text ("../x" included).
            target = Path(folder) / f"report.{job.file_format}"
            _write(job, target, step)
            with open(target, "rb") as content:
                job.file.save(f"{job.pk}.{job.file_format}", File(content), save=False)
            size = target.stat().st_size
    except ReportCancelled:
        logger.info("Report job %s was cancelled", job_id)
        return
    except Exception as error:  # a failure must end as a clear status, not a silent task
        logger.exception("Report job %s failed", job_id)
        with translation.override(job.language):
            message = (
                str(error)
                if isinstance(error, WorkflowError)
                else _("The report could not be made: %s") % error
            )
        running.update(status=ReportJobStatus.FAILED, error=message, finished_at=timezone.now())
        return
    except BaseException:  # the worker is being stopped in the middle
        with translation.override(job.language):
            message = _("The background worker stopped before the report was made: ask again.")
        running.update(status=ReportJobStatus.FAILED, error=message, finished_at=timezone.now())
        raise
    now = timezone.now()
    with transaction.atomic():
        finished = running.update(
            status=ReportJobStatus.DONE,
            file=job.file.name,
            size=size,
            done=F("total"),
            finished_at=now,
            expires_at=now + retention(),
        )
        if finished:
            job.refresh_from_db()
            notify_report_ready(job=job)
    if not finished:  # cancelled while the file was being stored
        job.file.delete(save=False)


@task()
def report_job(*, job_id: str) -> None:
    """Make a report or an export too large for a request (incidents.ReportJob)."""
    report_job_run(job_id=job_id)


# --- what the pages and the worker's start see -------------------------------------------------
def _last_sign_of_life(job: ReportJob) -> float:
    beat = last_beat(_heartbeat_key(job.pk)) or 0.0
    started = job.heartbeat_at or job.started_at
    return max(beat, started.timestamp() if started else 0.0)


def _fail_stalled(job: ReportJob) -> bool:
    with translation.override(job.language):
        message = _("The background worker stopped before the report was made: ask again.")
    failed = ReportJob.objects.filter(pk=job.pk, status=ReportJobStatus.RUNNING).update(
        status=ReportJobStatus.FAILED, error=message, finished_at=timezone.now()
    )
    if failed:
        logger.warning("Report job %s: its worker stopped; marked failed", job.pk)
    job.refresh_from_db()
    return bool(failed)


def report_jobs_fail_stalled(*, job: ReportJob | None = None) -> int:
    """Mark failed the running jobs (or this one) whose worker has given no sign of life for
    REPORT_JOB_STALLED_AFTER_SECONDS; return how many. A job given is refreshed in place. A job
    still waiting in the queue is no failure: the next worker to start makes it."""
    jobs = [job] if job is not None else ReportJob.objects.filter(status=ReportJobStatus.RUNNING)
    return fail_silent(
        [each for each in jobs if each.status == ReportJobStatus.RUNNING],
        last_sign_of_life=_last_sign_of_life,
        silent_for=settings.REPORT_JOB_STALLED_AFTER_SECONDS,
        fail=_fail_stalled,
    )


def report_jobs_remove_expired(*, now=None) -> int:
    """Remove the files of the reports kept longer than REPORT_JOB_RETENTION_DAYS; the job
    stays, saying so. Returns how many files were removed."""
    now = now or timezone.now()
    removed = 0
    for job in ReportJob.objects.filter(status=ReportJobStatus.DONE, expires_at__lte=now):
        if job.file:
            job.file.delete(save=False)
        removed += ReportJob.objects.filter(pk=job.pk, status=ReportJobStatus.DONE).update(
            status=ReportJobStatus.EXPIRED, file="", size=0
        )
    return removed
