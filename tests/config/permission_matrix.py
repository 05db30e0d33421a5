"""The permission matrix's machinery as the site's other matrices import it: it stands in
tests/permission_matrix.py, beside the apps' tests whose expectations are written with it.
"""

from tests.permission_matrix import (
    ANONYMOUS,
    ANSWERED,
    READ_ONLY,
    REFUSED,
    SAMPLE_WORKBOOK,
    SHOWN,
    STAFF,
    SUPERUSER,
    SUPERVISOR,
    WRITTEN,
    Expectation,
    World,
    at,
    bulk,
    check,
    given,
    kept_cookies,
    pk_of,
    posted,
    world_made,
)

__all__ = [
    "ANONYMOUS",
    "ANSWERED",
    "READ_ONLY",
    "REFUSED",
    "SAMPLE_WORKBOOK",
    "SHOWN",
    "STAFF",
    "SUPERUSER",
    "SUPERVISOR",
    "WRITTEN",
    "Expectation",
    "World",
    "at",
    "bulk",
    "check",
    "given",
    "kept_cookies",
    "pk_of",
    "posted",
    "world_made",
]
