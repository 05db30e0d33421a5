"""Per-person figures of every page (the sidebar's counts, the header's bell) kept between a
person's pages while the database has not changed.

Every page shows a person the size of their queues and their unread notifications and
messages: some ten queries a page, mostly the ORM building them. The same figures are right
again as long as nothing was written since, so each process keeps the last figures of each
person with the database's version they were counted at, and counts again only when the
version moved.

The version is PostgreSQL's own (`database_version`): where WAL insertion stands and which
transactions are still in progress. Any write (a transaction's own uncommitted ones included,
a commit, a rollback of written rows) moves the WAL; a commit not yet visible to everyone
stands in the list of transactions in progress until it is, so figures counted before a
change became visible are never kept under a version that has it. Writes of other databases
of the same server move the version too: figures are counted again more often than needed,
never kept longer than true. The version is read before the figures are counted: figures a
little newer than their version can be kept, older ones cannot. On SQLite (the embedded mode),
or with settings.KEPT_FIGURES off, nothing is kept: the figures are counted on every page.
"""

import threading
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import connections
from django.http import HttpRequest

T = TypeVar("T")

# (database, figure, person) → (version, value): the last value of each person's figure.
_KEPT: dict[tuple[str, str, int], tuple[str, object]] = {}
_LOCK = threading.Lock()


def database_version(using: str = "default") -> str | None:
    """A token that differs whenever the data of the database may differ; None where the
    database cannot tell (SQLite)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_snapshot()::text, pg_current_wal_insert_lsn()::text")
        snapshot, position = cursor.fetchone()
    return f"{snapshot}/{position}"


def _request_version(request: HttpRequest) -> str | None:
    """The database's version, read once for the page."""
    if "_database_version" not in request.__dict__:
        request._database_version = database_version()
    return request._database_version


def kept_figure(request: HttpRequest, figure: str, count: Callable[[], T]) -> T:
    """`count()` for the person asking, or the value it gave on one of their earlier pages
    when the database has not changed since."""
    person = getattr(request.user, "pk", None)
    if person is None or not settings.KEPT_FIGURES:
        return count()
    version = _request_version(request)
    if version is None:
        return count()
    key = (connections["default"].settings_dict["NAME"], figure, person)
    with _LOCK:
        kept = _KEPT.get(key)
    if kept is not None and kept[0] == version:
        return kept[1]
    value = count()
    with _LOCK:
        _KEPT[key] = (version, value)
    return value
