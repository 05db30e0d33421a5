"""Legacy workbook imports from the admin: the dry run and the confirmed import run in the
background, so a 100,000-row workbook never times the upload out. Progress goes to the cache
(Redis in production, shared by every app process); reports and status to the database."""

import logging
import threading

from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.db import connections, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from incidents.legacy.importer import ImportReport, LegacyImporter
from incidents.models import Employee, LegacyImport, LegacyImportStatus
from incidents.services.errors import WorkflowError

logger = logging.getLogger(__name__)
PROGRESS_SECONDS = 60 * 60


def _progress_key(job_id) -> str:
    return f"legacy-import:{job_id}:progress"


def legacy_import_progress(job: LegacyImport) -> dict:
    return cache.get(_progress_key(job.pk)) or {}


def _report_data(report: ImportReport) -> dict:
    return {
        "ok": report.ok,
        "sheets": [
            {
                "kind": kind,
                "title": report.sheet_titles.get(kind, kind),
                "created": summary.created,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "errors": summary.errors,
            }
            for kind, summary in report.summaries.items()
        ],
        "errors": [str(error) for error in report.errors],
    }


def run_legacy_import(job_id, *, dry_run: bool) -> None:
    """The work itself; in a thread of its own, or inline when not in the background."""
    job = LegacyImport.objects.get(pk=job_id)

    def progress(kind: str, done: int, total: int) -> None:
        cache.set(
            _progress_key(job_id),
            {"phase": "check" if dry_run else "import", "kind": kind, "done": done, "total": total},
            PROGRESS_SECONDS,
        )

    try:
        with translation.override(job.language), job.file.open("rb") as workbook:
            report = LegacyImporter(workbook, user=job.created_by, progress=progress).run(
                dry_run=dry_run
            )
    except Exception as error:  # a broken file must end as a clear status, not a silent thread
        logger.exception("Legacy import %s failed", job_id)
        with translation.override(job.language):
            message = _("Could not read it: %s") % error
        LegacyImport.objects.filter(pk=job_id).update(
            status=LegacyImportStatus.FAILED,
            report={"ok": False, "sheets": [], "errors": [message]},
            finished_at=timezone.now(),
        )
        return
    with translation.override(job.language):
        data = _report_data(report)
    if dry_run:
        status = LegacyImportStatus.CHECKED if report.ok else LegacyImportStatus.INVALID
        LegacyImport.objects.filter(pk=job_id).update(dry_run_report=data, status=status)
    else:
        status = LegacyImportStatus.DONE if report.ok else LegacyImportStatus.INVALID
        LegacyImport.objects.filter(pk=job_id).update(
            report=data, status=status, finished_at=timezone.now()
        )


def _start(job: LegacyImport, *, dry_run: bool) -> None:
    if not settings.LEGACY_IMPORT_IN_BACKGROUND:
        transaction.on_commit(lambda: run_legacy_import(job.pk, dry_run=dry_run))
        return

    def work():
        try:
            run_legacy_import(job.pk, dry_run=dry_run)
        finally:
            connections.close_all()

    transaction.on_commit(lambda: threading.Thread(target=work, daemon=True).start())


@transaction.atomic
def legacy_import_start(*, upload: UploadedFile, by: Employee) -> LegacyImport:
    """Keep the uploaded workbook and check it (a dry run) in the background."""
    if not by.has_perm("incidents.add_legacyimport"):
        raise WorkflowError(_("Only administrators import legacy workbooks."))
    if not (upload.name or "").lower().endswith(".xlsx"):
        raise WorkflowError(_("Upload the workbook as an .xlsx file."))
    job = LegacyImport(
        original_name=upload.name[:255],
        created_by=by,
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )
    job.file.save(upload.name, upload, save=False)
    job.save()
    _start(job, dry_run=True)
    return job


@transaction.atomic
def legacy_import_confirm(*, job: LegacyImport, by: Employee) -> LegacyImport:
    """Import a checked workbook for real, once."""
    job = LegacyImport.objects.select_for_update().get(pk=job.pk)
    if not by.has_perm("incidents.add_legacyimport"):
        raise WorkflowError(_("Only administrators import legacy workbooks."))
    if job.status != LegacyImportStatus.CHECKED:
        raise WorkflowError(
            _("This workbook cannot be imported now (%(status)s).")
            % {"status": job.get_status_display()}
        )
    job.status = LegacyImportStatus.IMPORTING
    job.save(update_fields=["status"])
    _start(job, dry_run=False)
    return job
