"""Stations that fail good devices: per fail station and fail item, the incidents that ended in
the period (returned or scrapped) and how many of them FAE returned to the line straight from its
retest, no fault found. A pair whose share of no fault found is at least NFF_STATION_SHARE, over
at least NFF_STATION_MIN_INCIDENTS incidents, is flagged: the station, not the device, is what
needs looking at.

An incident counts where the figures of flow count it (incidents.dashboard.figures): in the
dashboard's scope (the incidents the viewer sees, of the chosen project and department, opened
in the chosen dates) and closed in the period of flow. Incidents without a station or an item
name no pair. The incident list shows each pair's incidents with the filters `false_fail_params`
gives (`closed_from`, `closed_to`: incidents.dashboard.scope)."""

from fractions import Fraction

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q

from incidents.choices import BEYOND_RETEST, Stage
from incidents.dashboard.scope import Scope, _period_bounds, flow_period
from incidents.models import IncidentEvent

# The rows the dashboard shows, flagged ones first.
FALSE_FAIL_SIZE = 10
ENDED = (Stage.RETURNED, Stage.SCRAPPED)

Pair = tuple[str, str]


def threshold() -> tuple[Fraction, int]:
    """The share of no fault found (exactly: 0.3 is 3/10, not the float just above it) and the
    fewest incidents that flag a pair."""
    return (
        Fraction(str(settings.NFF_STATION_SHARE)),
        settings.NFF_STATION_MIN_INCIDENTS,
    )


def false_fail_counts(scope: Scope) -> dict[Pair, tuple[int, int]]:
    """Per (fail station, fail item) with at least one incident returned with no fault found in
    the period: (incidents ended, of them no fault found). One grouped query, a row per pair."""
    start, end = _period_bounds(scope)
    beyond = Exists(
        IncidentEvent.objects.filter(incident=OuterRef("pk"), to_stage__in=BEYOND_RETEST)
    )
    rows = (
        scope.incidents()
        .filter(stage__in=ENDED, closed_at__gte=start, closed_at__lt=end)
        .exclude(fail_station="")
        .exclude(fail_item="")
        .annotate(beyond=beyond)
        .values("fail_station", "fail_item")
        .annotate(ended=Count("id"), nff=Count("id", filter=Q(stage=Stage.RETURNED, beyond=False)))
        .filter(nff__gt=0)
        .order_by()
    )
    return {(row["fail_station"], row["fail_item"]): (row["ended"], row["nff"]) for row in rows}


def false_fail_rows(counts: dict[Pair, tuple[int, int]]) -> list[dict]:
    """The dashboard's rows from `false_fail_counts`: flagged pairs first, then by share and
    count of no fault found; at most FALSE_FAIL_SIZE."""
    share, fewest = threshold()
    rows = []
    for (station, item), (ended, nff) in counts.items():
        if not nff:
            continue
        rows.append(
            {
                "station": station,
                "item": item,
                "ended": ended,
                "nff": nff,
                "share": round(100 * nff / ended, 1),
                "flagged": ended >= fewest and Fraction(nff, ended) >= share,
            }
        )
    rows.sort(
        key=lambda row: (
            not row["flagged"],
            -Fraction(row["nff"], row["ended"]),
            -row["nff"],
            row["station"],
            row["item"],
        )
    )
    return rows[:FALSE_FAIL_SIZE]


def false_fails(scope: Scope) -> list[dict]:
    """Per fail station and fail item: the incidents that ended in the period and those of them
    returned with no fault found, the share, and whether the pair is flagged."""
    return false_fail_rows(false_fail_counts(scope))


def false_fail_params(scope: Scope, row: dict) -> dict[str, dict]:
    """The incident list's filters for a row: its incidents returned with no fault found
    (`nff`), and all those that ended (`ended`), closed in the period."""
    first, last = flow_period(scope)
    common = {
        "fail_station": row["station"],
        "fail_item": row["item"],
        "closed_from": first.isoformat(),
        "closed_to": last.isoformat(),
    }
    return {
        "nff": {**common, "nff": "1"},
        "ended": {**common, "stage__exact": [str(stage) for stage in ENDED]},
    }


def add_closings(
    counts: dict[tuple[str, str, int, bool], int],
    station: str,
    item: str,
    closed: int,
    stage: str,
    nff: bool,
) -> None:
    """What one closed incident adds to a part of the period (incidents.dashboard.periods):
    by (station, item, day closed as its ordinal, no fault found), for the incidents
    `false_fail_counts` counts."""
    if stage in ENDED and station and item:
        key = (station, item, closed, nff)
        counts[key] = counts.get(key, 0) + 1


def counts_of(parts: list[dict], first: int, last: int) -> dict[Pair, tuple[int, int]]:
    """`false_fail_counts` from what the parts keep, for the days from `first` to `last` (their
    ordinals)."""
    found: dict[Pair, list[int]] = {}
    for part in parts:
        for (station, item, closed, nff), n in part["false_fails"].items():
            if first <= closed <= last:
                sums = found.setdefault((station, item), [0, 0])
                sums[0] += n
                sums[1] += n if nff else 0
    return {pair: (ended, nff) for pair, (ended, nff) in found.items() if nff}
