"""Uploads larger than anything the product accepts are dropped while they stream in, before
Django writes them to a temporary file, and the request remembers which files were dropped so
the form can say so in words."""

from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

REQUEST_ATTRIBUTE = "uploads_too_large"


def upload_limit() -> int:
    """The largest file any form of the product accepts: an attachment or a legacy workbook."""
    return max(
        settings.ATTACHMENT_MAX_BYTES,
        getattr(settings, "LEGACY_IMPORT_MAX_BYTES", settings.ATTACHMENT_MAX_BYTES),
    )


@dataclass(frozen=True)
class RefusedUpload:
    """A file part of a request that was dropped because it passed the upload limit."""

    field_name: str
    file_name: str

    def message(self, limit: int) -> str:
        return _("%(name)s is larger than the limit of %(limit)s.") % {
            "name": self.file_name,
            "limit": filesizeformat(limit),
        }


class SizeLimitUploadHandler(FileUploadHandler):
    """The first of FILE_UPLOAD_HANDLERS: passes each chunk on to Django's handlers until the
    file grows past `upload_limit()`, then skips the file (its temporary file is closed and
    deleted, the rest of the part is read and thrown away) and notes it on the request."""

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.limit = upload_limit()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            refused = RefusedUpload(field_name=self.field_name, file_name=self.file_name or "")
            uploads_too_large(self.request).append(refused)
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the handlers after this one make the file


def uploads_too_large(request: HttpRequest | None) -> list[RefusedUpload]:
    """The files of this request that were dropped for their size (none for a request without
    a body, or one whose body was not parsed as a form)."""
    if request is None:
        return []
    if REQUEST_ATTRIBUTE not in request.__dict__:
        request.__dict__[REQUEST_ATTRIBUTE] = []
    return request.__dict__[REQUEST_ATTRIBUTE]


def refused_uploads(request: HttpRequest) -> list[RefusedUpload]:
    """The files dropped from this request's form data, once that data has been read."""
    request.FILES  # noqa: B018 - reading the files is what runs the upload handlers
    return list(uploads_too_large(request))
