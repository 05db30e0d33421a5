"""Operation records with their attachments, and analysis results, added by the assignee."""

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePath

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from config.kit.uploads import Picture, PictureTooLarge, picture_of
from incidents.choices import STAGE_VERDICTS, Verdict, WorkflowAction
from incidents.models import AnalysisResult, Attachment, Employee, Incident, OperationRecord
from incidents.services.errors import WorkflowError
from incidents.services.workflow import (
    Expected,
    announce,
    check_allowed,
    lock_incident,
    log_event,
)

# What may be attached: logs, data, documents and images. Nothing a browser would run.
ALLOWED_ATTACHMENT_TYPES = {
    ".log": "text/plain",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".json": "application/json",
    ".xml": "text/plain",
    ".zip": "application/zip",
    ".7z": "application/x-7z-compressed",
    ".gz": "application/gzip",
    ".pdf": "application/pdf",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".bmp": "image/bmp",
    ".webp": "image/webp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".dcm": "application/dicom",
}
# What a file named like a picture that is not one is stored (and served) as: a download.
NOT_A_PICTURE = "application/octet-stream"


@contextmanager
def files_removed_on_failure():
    """Collects the names of files written to storage; if what follows fails, they are
    deleted: the rows roll back with the transaction, the files must not outlive them."""
    written: list[str] = []
    try:
        yield written
    except BaseException:
        for name in written:
            default_storage.delete(name)
        raise


def stored_name(upload: UploadedFile) -> str:
    """The uploader's file name, made safe to show and to offer for download."""
    return get_valid_filename(PurePath(upload.name).name)[:255]


@dataclass(frozen=True)
class CheckedUpload:
    """An upload that may be attached: the content type it is stored and served as, and the
    picture it holds (verified, with its preview) if it is one."""

    content_type: str
    picture: Picture | None = None


def attachment_check(upload: UploadedFile) -> CheckedUpload:
    """What an upload is, judged by its content, or a WorkflowError saying why it may not be
    attached. Its name decides only whether the type may be attached at all: a picture is a
    file Pillow verifies as a bitmap, and a file named like a picture that is none is a plain
    file (never shown, never embedded)."""
    name = PurePath(upload.name or "").name
    suffix = PurePath(name).suffix.lower()
    if suffix not in ALLOWED_ATTACHMENT_TYPES:
        raise WorkflowError(
            _("%(name)s: files of this type cannot be attached. Allowed: %(allowed)s.")
            % {"name": name, "allowed": " ".join(sorted(ALLOWED_ATTACHMENT_TYPES))}
        )
    if upload.size > settings.ATTACHMENT_MAX_BYTES:
        raise WorkflowError(
            _("%(name)s is %(size)s; attachments may be at most %(limit)s.")
            % {
                "name": name,
                "size": filesizeformat(upload.size),
                "limit": filesizeformat(settings.ATTACHMENT_MAX_BYTES),
            }
        )
    try:
        picture = picture_of(upload, name)
    except PictureTooLarge as error:
        raise WorkflowError(error.message) from None
    if picture is not None:
        return CheckedUpload(picture.content_type, picture)
    content_type = ALLOWED_ATTACHMENT_TYPES[suffix]
    return CheckedUpload(NOT_A_PICTURE if content_type.startswith("image/") else content_type)


@transaction.atomic
def operation_record_add(
    *,
    incident: Incident,
    by: Employee,
    action: str,
    notes: str = "",
    files: list[UploadedFile] = (),
    expected: Expected = None,
) -> OperationRecord:
    """The assignee records what was done in this round, with any logs, photos or images."""
    action = (action or "").strip()
    if not action:
        raise WorkflowError(_("Say what was done (the action taken)."))
    checked = [attachment_check(upload) for upload in files]
    incident = lock_incident(incident, expected)
    check_allowed(incident, WorkflowAction.RECORD, by)
    record = OperationRecord.objects.create(
        incident=incident,
        stage=incident.stage,
        round=incident.stage_round,
        action=action,
        notes=notes,
        created_by=by,
    )
    names = []
    with files_removed_on_failure() as written:
        for upload, check in zip(files, checked, strict=True):
            attachment = Attachment(
                record=record,
                original_name=stored_name(upload),
                size=upload.size,
                content_type=check.content_type,
            )
            attachment.file.save(upload.name, upload, save=False)
            written.append(attachment.file.name)
            if check.picture is not None:
                preview = ContentFile(check.picture.preview)
                attachment.preview.save(f"preview.{check.picture.preview_suffix}", preview, False)
                written.append(attachment.preview.name)
            attachment.save()
            names.append(attachment.original_name)
    before = (incident.stage, incident.step)
    announce(log_event(incident, WorkflowAction.RECORD, by, before, action), files=names)
    return record


@transaction.atomic
def analysis_result_add(
    *,
    incident: Incident,
    by: Employee,
    findings: str,
    verdict: str = "",
    operation_record: OperationRecord | None = None,
    expected: Expected = None,
) -> AnalysisResult:
    """The assignee states findings and, where the stage needs one, the verdict."""
    findings = (findings or "").strip()
    if not findings:
        raise WorkflowError(_("Describe the findings."))
    incident = lock_incident(incident, expected)
    check_allowed(incident, WorkflowAction.RESULT, by)
    allowed = STAGE_VERDICTS.get(incident.stage, ())
    if verdict and verdict not in allowed:
        choices = ", ".join(str(Verdict(v).label) for v in allowed) or _("none")
        raise WorkflowError(
            _("%(verdict)s is not a verdict of %(stage)s (possible: %(choices)s).")
            % {"verdict": verdict, "stage": incident.get_stage_display(), "choices": choices}
        )
    if operation_record is not None and (
        operation_record.incident_id != incident.pk or operation_record.stage != incident.stage
    ):
        raise WorkflowError(_("The linked operation record belongs to another incident or stage."))
    result = AnalysisResult.objects.create(
        incident=incident,
        stage=incident.stage,
        round=incident.stage_round,
        operation_record=operation_record,
        findings=findings,
        verdict=verdict,
        created_by=by,
    )
    before = (incident.stage, incident.step)
    announce(
        log_event(incident, WorkflowAction.RESULT, by, before, findings[:500], verdict=verdict)
    )
    return result


# The folders of uploaded files that rows point to; anything else there is an orphan.
UPLOAD_FOLDERS = ("attachments", "chat")


def _stored_file_names() -> set[str]:
    """Every file name a row of any model points to (record and chat attachments, thumbnails,
    legacy workbooks…), found through the models' file fields: no app needs to know another."""
    from django.apps import apps
    from django.db.models import FileField

    names = set()
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, FileField):
                names.update(
                    model._default_manager.exclude(**{field.name: ""}).values_list(
                        field.name, flat=True
                    )
                )
    return names


def attachments_prune(*, older_than: timedelta = timedelta(hours=1)) -> list[str]:
    """Delete uploaded files no row points to (left by a transaction that rolled back after its
    files were written); return their names."""
    known = _stored_file_names()
    cutoff = timezone.now() - older_than
    removed = []

    def walk(folder: str) -> None:
        folders, files = default_storage.listdir(folder)
        for name in files:
            path = f"{folder}/{name}"
            if path not in known and default_storage.get_modified_time(path) <= cutoff:
                default_storage.delete(path)
                removed.append(path)
        for sub in folders:
            walk(f"{folder}/{sub}")

    for folder in UPLOAD_FOLDERS:
        if default_storage.exists(folder):
            walk(folder)
    return removed
