"""What the line's test stations said of a device lately, as its incident's page shows it: the
newest results, and the measured values of each station's test item over its recent runs."""

from dataclasses import dataclass, field

from incidents.models import StationResult
from locations.models import Device

# The results an incident's page lists, and how many runs of a test item its chart may draw.
RECENT_RESULTS = 20
SERIES_RUNS = 30
# The newest results a chart is drawn from: a device tested far more often than this at other
# items keeps its page as fast as any.
SERIES_WINDOW = 300
# Charts beyond this many test items would push the page's own work out of sight.
MAX_SERIES = 8


@dataclass
class ResultSeries:
    """A station's test item on one device: its runs that measured a value, oldest first."""

    station: str
    test_item: str
    runs: list[StationResult] = field(default_factory=list)

    @property
    def latest(self) -> StationResult:
        return self.runs[-1]


@dataclass
class RecentResults:
    rows: list[StationResult]
    series: list[ResultSeries]


def device_recent_results(device: Device, user) -> RecentResults:
    """The device's newest results the person may see (newest first, at most RECENT_RESULTS),
    and for each station's test item that measured values, its latest runs with a value, oldest
    first (the items failed most recently first, at most MAX_SERIES). One query."""
    window = list(
        StationResult.objects.visible_to(user)
        .filter(device=device)
        .order_by("-tested_at", "-id")
        .only(
            "station",
            "result_id",
            "test_item",
            "passed",
            "value",
            "low_limit",
            "high_limit",
            "log_url",
            "tested_at",
        )[:SERIES_WINDOW]
    )
    series: dict[tuple[str, str], ResultSeries] = {}
    for run in window:
        if run.value is None:
            continue
        found = series.setdefault(
            (run.station, run.test_item), ResultSeries(run.station, run.test_item)
        )
        if len(found.runs) < SERIES_RUNS:
            found.runs.append(run)
    for found in series.values():
        found.runs.reverse()
    # Items that failed come first, the most recent failure first; then the others as tested.
    ordered = sorted(
        series.values(),
        key=lambda found: max((not run.passed, run.tested_at) for run in found.runs),
        reverse=True,
    )
    return RecentResults(rows=window[:RECENT_RESULTS], series=ordered[:MAX_SERIES])
