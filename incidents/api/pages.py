"""Cursor pagination: each page ends with an opaque `next` cursor leading to the rows after
it (newest first, by id), so a page is read through an index however deep it is and rows added
meanwhile neither repeat nor shift the pages."""

import base64
import binascii
import re

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from incidents.api.errors import bad_request

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_CURSOR = re.compile(r"^before:(\d{1,18})$")


def cursor_for(pk: int) -> str:
    return base64.urlsafe_b64encode(f"before:{pk}".encode()).decode().rstrip("=")


def before_id(cursor: str | None) -> int | None:
    """The id a cursor leads below; a cursor this API did not give is a 400."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        decoded = ""
    match = _CURSOR.match(decoded)
    if match is None:
        raise bad_request(_("This cursor was not given by this API: follow the “next” link."))
    return int(match.group(1))


def page(queryset: QuerySet, cursor: str | None, limit: int) -> tuple[list, str | None]:
    """One page of `queryset` (newest first by id) and the cursor of the next, or None."""
    below = before_id(cursor)
    if below is not None:
        queryset = queryset.filter(pk__lt=below)
    rows = list(queryset.order_by("-pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, cursor_for(rows[-1].pk) if more else None
