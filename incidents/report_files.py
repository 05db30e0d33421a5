"""The only files a report may read while WeasyPrint renders it: the small pictures the product
made itself on upload (a record attachment's preview, a chat picture's preview), named by id.
Every other URL is refused: no network, no `file://`, no `data:`. A picture that is no picture
(SVG named board.png) makes WeasyPrint try its SVG reader, which fetches every URL the SVG
names through this same fetcher, so those are refused too.

A report's template names such a file as `product-file:<kind>/<id>`, for example
`product-file:attachment-preview/{{ attachment.pk }}`."""

import io
import uuid

from django.apps import apps
from PIL import Image

from config.kit.uploads import PREVIEW_LONG_SIDE

SCHEME = "product-file:"
# The stored files a report may embed, by kind: (app label, model, file field). Each is a
# picture the product encoded itself, at most PREVIEW_LONG_SIDE pixels on its long side.
EMBEDDABLE = {
    "attachment-preview": ("incidents", "Attachment", "preview"),
    "chat-preview": ("messaging", "MessageAttachment", "preview"),
}
MIME_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}


class RefusedURL(ValueError):
    """A URL a report may not read."""


def _stored_file(url: str):
    kind, _slash, key = url.removeprefix(SCHEME).partition("/")
    if not url.startswith(SCHEME) or kind not in EMBEDDABLE:
        raise RefusedURL(f"reports read only the product's own pictures, not {url[:200]!r}")
    try:
        pk = uuid.UUID(key)
    except ValueError:
        raise RefusedURL(f"not a file id: {key[:100]!r}") from None
    app_label, model_name, field = EMBEDDABLE[kind]
    row = apps.get_model(app_label, model_name)._default_manager.filter(pk=pk).first()
    stored = getattr(row, field, None)
    if not stored:
        raise RefusedURL(f"no {kind} {pk}")
    return stored


def fetch(url: str, *args, **kwargs) -> dict:
    """WeasyPrint's `url_fetcher`: the bytes of one of the product's own small pictures, or
    RefusedURL (WeasyPrint then leaves the picture out and renders the rest)."""
    stored = _stored_file(url)
    with stored.open("rb") as file:
        content = file.read()
    # Checked again before WeasyPrint decodes it: a small PNG or JPEG, nothing else.
    try:
        with Image.open(io.BytesIO(content), formats=list(MIME_TYPES)) as image:
            kind, size = image.format, image.size
    except Exception:
        raise RefusedURL(f"{url[:200]!r} is not a PNG or JPEG picture") from None
    if max(size) > PREVIEW_LONG_SIDE:
        raise RefusedURL(f"{url[:200]!r} is larger than a preview")
    return {"string": content, "mime_type": MIME_TYPES[kind], "redirected_url": url}
