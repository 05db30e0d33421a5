"""Uploads larger than anything the product accepts are dropped while they stream in, before
Django writes them to a temporary file, and the request remembers which files were dropped so
the form can say so in words.

What an upload is comes from its content, never its name or the browser's word: a picture is a
file Pillow opens and verifies as one of a few bitmap formats, within a pixel budget checked
before any pixel is decoded; it is decoded once, on upload, into a small preview that reports
and thumbnails use. Anything else (SVG, a web page, a broken picture) is a plain file."""

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

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


# --- pictures -------------------------------------------------------------------------------------
# The bitmap formats shown as pictures, by Pillow's name, with the content type they are served as.
PICTURE_FORMATS = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
}
PICTURE_CONTENT_TYPES = frozenset(PICTURE_FORMATS.values())
# The long side of the stored preview: sharp on an A4 page, small enough to decode at once.
PREVIEW_LONG_SIDE = 1600
# What a stored preview or thumbnail is served as, by its suffix (they are made PNG or JPEG).
SMALL_PICTURE_TYPES = {".png": "image/png", ".jpg": "image/jpeg"}


class PictureTooLarge(ValueError):
    """A picture with more pixels than the product decodes (`settings.IMAGE_MAX_PIXELS`)."""

    def __init__(self, name: str):
        self.name = name
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return _(
            "%(name)s has more than %(limit)s megapixels, more than a picture may have. "
            "Make it smaller, or attach it in a zip archive."
        ) % {"name": self.name, "limit": f"{settings.IMAGE_MAX_PIXELS / 1_000_000:g}"}


@dataclass(frozen=True)
class Picture:
    """A verified bitmap: what it is served as, its size, and its preview (PNG, or JPEG for a
    photograph), at most PREVIEW_LONG_SIDE pixels on its long side."""

    content_type: str
    width: int
    height: int
    preview: bytes
    preview_suffix: str

    def thumbnail(self, size: tuple[int, int]) -> bytes:
        """A PNG at most `size`, made from the preview (never from the original)."""
        with Image.open(io.BytesIO(self.preview)) as image:
            image.thumbnail(size)
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
        return buffer.getvalue()


def _open(file, formats) -> Image.Image:
    """Pillow's image of the file, its header read and nothing decoded; only the given formats
    are tried. A picture past Pillow's own bomb limit is too large, like one past ours."""
    file.seek(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our budget decides
        return Image.open(file, formats=formats)


def _displayable(image: Image.Image) -> Image.Image:
    """The image in a mode PNG and JPEG can hold; 16-bit and float greys (X-ray scans) are
    stretched to 8 bits rather than clipped to white."""
    if image.mode in ("RGB", "RGBA", "L", "LA"):
        return image
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        image = image.convert("I") if image.mode.startswith("I;16") else image
        low, high = image.getextrema()
        scale = 255 / (high - low) if high > low else 0
        return image.point(lambda value: value * scale - low * scale).convert("L")
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _preview(image: Image.Image) -> tuple[bytes, str]:
    long_side = (PREVIEW_LONG_SIDE, PREVIEW_LONG_SIDE)
    if image.format == "JPEG":
        image.draft("RGB", long_side)  # decodes the JPEG at a reduced scale where it can
    image.thumbnail(long_side)  # decodes the first frame once
    small = _displayable(ImageOps.exif_transpose(image))
    buffer = io.BytesIO()
    if image.format == "JPEG" and small.mode in ("RGB", "L"):
        small.save(buffer, format="JPEG", quality=85)
        return buffer.getvalue(), "jpg"
    small.save(buffer, format="PNG")
    return buffer.getvalue(), "png"


def picture_of(file, name: str = "") -> Picture | None:
    """The picture the file holds, verified and previewed, or None when it holds none (SVG, a web
    page, a truncated or broken bitmap, another format), whatever it is called. Raises
    PictureTooLarge, before decoding anything, for one past the pixel budget."""
    formats = list(PICTURE_FORMATS)
    try:
        try:
            with _open(file, formats) as image:
                found = image.format
                width, height = image.size
                if width * height > settings.IMAGE_MAX_PIXELS:
                    raise PictureTooLarge(name)
                image.verify()  # the file's structure and checksums, without decoding pixels
            with _open(file, [found]) as image:
                preview, suffix = _preview(image)
        except Image.DecompressionBombError:
            raise PictureTooLarge(name) from None
        except PictureTooLarge:
            raise
        except Exception:  # Pillow's many ways of saying: not a picture, or a broken one
            return None
    finally:
        file.seek(0)
    return Picture(PICTURE_FORMATS[found], width, height, preview, suffix)
