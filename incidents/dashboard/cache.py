"""The dashboard's figures kept between views, shared by everyone who sees the same projects, and
counted again as soon as anything they read changes."""

import datetime
import hashlib
import logging
import math
from collections.abc import Callable
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django.utils.translation import get_language

from incidents import access
from incidents.dashboard.scope import Scope
from incidents.models import ConfigChange, Employee, Incident, IncidentEvent, ProblemGroup
from locations.models import Device, Location

logger = logging.getLogger(__name__)


# --- figures kept between views -------------------------------------------------------------------
def _tables_read() -> list[tuple[str, str]]:
    """(table, key column) of every table the figures read: a change of any of them adds a row
    to one of these (the timeline, the histories, the audit trail) or a new key."""
    models = (
        Incident,
        Incident.history.model,
        IncidentEvent,
        Device,
        Device.history.model,
        Location.history.model,
        ProblemGroup.history.model,
        ConfigChange,
        Employee,
    )
    return [(model._meta.db_table, model._meta.pk.column) for model in models]


def data_version() -> tuple:
    """The newest key of each table the figures read, in one query of index lookups: it
    changes whenever anything the figures count changes through the product."""
    quote = connection.ops.quote_name
    columns = ", ".join(
        f"(SELECT MAX({quote(column)}) FROM {quote(table)})" for table, column in _tables_read()
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns}")
        return tuple(cursor.fetchone())


# Part of the key of kept figures and panels: raised when what `kept` keeps changes shape, so a
# new release never reads what the one before kept.
FIGURES_LAYOUT = 5


class Counted(NamedTuple):
    figures: dict
    # When the oldest of them was counted (some may have been kept: incidents.dashboard.periods).
    counted_at: datetime.datetime


class Kept(NamedTuple):
    figures: dict
    counted_at: datetime.datetime
    # What the figures are kept under (None when they are counted on every view): the page's
    # panels made of them are kept under it too, for `seconds` more.
    key: str | None
    seconds: int = 0


def kept(scope: Scope, compute: Callable[[tuple | None], Counted], *variant) -> Kept:
    """The figures `compute` counts for `scope`, when they were counted, the key they are kept
    under and for how many seconds more. `compute` is given the data version the key carries
    (None when nothing is kept), for what it keeps itself under the same version.

    Everyone who sees the same projects with the same filters (and the same `variant`, in the
    same language) shares them for DASHBOARD_FIGURES_SECONDS, as long as nothing they read has
    changed (`data_version`): a manager's reload, and the live reload of every open dashboard
    after a change, count once. The time limit bounds what a version cannot see (the age of
    open incidents grows; a bulk change that writes no history), so no figure is older than it.
    """
    seconds = settings.DASHBOARD_FIGURES_SECONDS
    if seconds <= 0:
        return Kept(*compute(None), None)
    try:
        return _kept(scope, compute, variant, seconds)
    except CacheUnavailable:
        # Without the cache (Redis down) the figures are counted, as with keeping off.
        logger.warning("dashboard figures: the cache does not answer", exc_info=True)
        return Kept(*compute(None), None)


class CacheUnavailable(Exception):
    pass


def _cached(call, *args):
    try:
        return call(*args)
    except Exception as error:
        raise CacheUnavailable from error


def _kept(scope: Scope, compute, variant: tuple, seconds: int) -> Kept:
    version = (data_version(), _cached(cache.get, CHANGES_KEY))
    identity = (
        FIGURES_LAYOUT,
        version,
        scope.params(),
        sorted(access.hidden_projects(scope.viewer)),
        variant,
        get_language(),
        timezone.localdate().isoformat(),
    )
    key = "dashboard:" + hashlib.sha256(repr(identity).encode()).hexdigest()
    found = _cached(cache.get, key)
    if found is None:
        found = tuple(compute(version))
        left = _seconds_left(found[1], seconds)
        if left <= 0:
            return Kept(*found, None)
        _cached(cache.set, key, found, left)
    return Kept(*found, key, _seconds_left(found[1], seconds))


def _seconds_left(counted_at: datetime.datetime, seconds: int) -> int:
    """How long figures counted at `counted_at` may still be shown: no figure is older than
    `seconds`, whatever part of them was kept before."""
    return math.ceil(seconds - (timezone.now() - counted_at).total_seconds())


# Counts the workflow's committed changes: a change whose keys were taken before another's
# committed does not raise `data_version`, so the key of kept figures carries this too.
CHANGES_KEY = "dashboard:changes"


def figures_changed(sender=None, **kwargs) -> None:
    """A change of the workflow has committed: kept figures are counted again (the receiver of
    `incidents.signals.incident_changed` and `record_added`)."""
    try:
        cache.add(CHANGES_KEY, 0, None)
        cache.incr(CHANGES_KEY)
    except Exception:
        logger.warning("dashboard figures: the cache does not answer", exc_info=True)
