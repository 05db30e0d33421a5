"""A period's figures put together from the figures of its parts, so that a changed date counts
only the days it adds, a change only the days it touched, and people asking for overlapping
periods share what they have in common.

Every figure counts incidents opened in the period, and an incident belongs to exactly one day:
the day it was opened, in the factory's time. So the period is cut into parts (whole calendar
months, single days at its edges, and when it has no end, the days after today as one part),
and each part keeps what its incidents contribute, in a form that adds up exactly:

    open      by stage and step; per stage the sorted times its incidents entered it, how many
              entered it at a time nobody knows, and the ten longest in it; by stage and place
              (a device has one open incident at most): the open figures, the ageing and those
              it leaves out, the oldest, the heat map;
    failures  the count of each (fail item, fail station);
    groups    each problem group's incidents and open incidents;
    visits    the seconds of each stage visit that ended, by (stage, day entered, week ended);
    closings  how many closed, by (stage, day closed, no fault found), and the seconds from
              report to return or scrap by (stage, day closed), but of those imported closed;
              and how many returned or scrapped by (fail station, fail item, day closed, no
              fault found), for the stations that fail good devices.

Over the last quarter (where the open incidents and most changes are) parts are single days.
The dashboard as it opens (no start chosen) is the period from the first incident's day, each
of its parts holding only the visits and closings of its quarter of flow. Parts are added up a
week or a year at a time into blocks, kept too, so that a view adds up a few blocks.

The figures of flow (percentiles, outcomes per week) then take the visits and closings of the
period's days from the parts: a percentile is the nearest rank of the seconds themselves, never
of a summary, so a period's figures are those the database counts for it at once
(`figures.every_figure`), which the tests compare for periods across the parts' edges.

Days are kept as their ordinals and times as POSIX timestamps: a part is read back from the
cache at every view, and a date or an aware time costs some ten times a number to read.

A part is kept under what it depends on and nothing else: the stamps of the days (in UTC) its
incidents were opened in (incidents.models.DashboardDay, drawn anew by the database whenever an
incident, its timeline or its device changes, so a change makes only its day's parts counted
again), the project and department chosen (and the department's stages), the restricted
projects hidden from the viewer (a part is shared only by people who see the same projects), the
factory's time zone and its days, and for the dashboard as it opens the quarter of flow. It
holds no words, so people of every language share it."""

import bisect
import dataclasses
import datetime
import hashlib
import itertools
from array import array
from collections import Counter, defaultdict

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Exists, FloatField, OuterRef, Q, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncDate
from django.utils import timezone

from incidents import access
from incidents.choices import BEYOND_RETEST, OPEN_STAGES, TERMINAL_STAGES, Stage
from incidents.dashboard.cache import Counted, _cached
from incidents.dashboard.figures import (
    PARETO_FIELDS,
    _seconds_between,
    _stage_rows,
    _week_of,
    aging_rows,
    department_rows,
    every_figure,
    groups_of,
    nearest_rank,
    outcome_row,
    pareto_of,
    period_weeks,
    places_of,
    projects,
    trend_of,
)
from incidents.dashboard.scope import (
    AGE_UNKNOWN,
    AGING_BUCKETS,
    FLOW_WEEKS,
    Scope,
    _date,
    _day_start,
    _department_stages,
    flow_period,
)
from incidents.dashboard.stations import add_closings, counts_of, false_fail_rows
from incidents.models import DashboardDay, Incident, IncidentEvent

# Part of each part's key: raised when what a part keeps changes shape.
PARTS_LAYOUT = 7
# How long a part is kept: its key changes with any change of what it counts (the stamps of its
# days), so it is dropped only for room; a period without a start has parts of the day's own.
PARTS_SECONDS = 2 * 24 * 3600
OLDEST_SIZE = 10

Part = tuple[datetime.date, datetime.date | None]


def counted(scope: Scope, may_see_groups: bool, version: tuple | None) -> Counted:
    """Every figure of the dashboard for `scope` (figures.every_figure), put together from the
    kept parts of its period when `version` (the data version the cache keys carry) is given;
    counted at once otherwise. A period without a start runs from the day the first incident
    was opened, its parts holding only the visits and closings of its figures of flow."""
    if version is None:
        return Counted(every_figure(scope, may_see_groups), timezone.now())
    today = timezone.localdate()
    first, window = _date(scope.opened_from), None
    if first is None:
        first, window = _first_day(today), flow_period(scope)
    # Single days over the last quarter, where the open incidents and most changes are: a
    # change makes its day counted again, not its month.
    recent = today - datetime.timedelta(weeks=FLOW_WEEKS)
    parts = parts_of(first, _date(scope.opened_to), today, recent)
    # Read before the parts are counted: a part counted after a change that its stamps do not
    # show yet is newer than its key, never older.
    stamps = day_stamps(parts[0][0])
    stages = _department_stages(scope.department) if scope.department else None
    keys = {part: _part_key(scope, stamps, part, window, stages) for part in parts}
    blocks = [list(run) for _block, run in itertools.groupby(parts, key=_block_of)]
    block_keys = [_block_key([keys[part] for part in block]) for block in blocks]
    found = _cached(cache.get_many, block_keys)
    missing = [block for block, key in zip(blocks, block_keys, strict=True) if key not in found]
    if missing:
        values = _blocks_made(scope, missing, keys, window)
        made = {
            _block_key([keys[part] for part in block]): value
            for block, value in zip(missing, values, strict=True)
        }
        _cached(cache.set_many, made, PARTS_SECONDS)
        found.update(made)
    # The parts are those of the data as it stands: counted now, or kept under the stamps
    # their days still have.
    every = [found[key] for key in block_keys]
    return Counted(figures_of(scope, may_see_groups, every), timezone.now())


def _block_of(part: Part) -> tuple:
    """The block a part is kept in with its neighbours, already added up: whole months by
    year, single days by week, the days after today alone. A view adds up a few blocks, not
    hundreds of parts, and a change makes one block added up again from its parts."""
    start, end = part
    if end is None:
        return ("after", start)
    if start.day == 1 and end == _next_month(start):
        return ("year", start.year)
    return ("week", start - datetime.timedelta(days=start.weekday()))


def _block_key(part_keys: list[str]) -> str:
    return "dashboard:block:" + hashlib.sha256(" ".join(part_keys).encode()).hexdigest()


def _blocks_made(
    scope: Scope, blocks: list[list[Part]], keys: dict[Part, str], window
) -> list[dict]:
    """Each of `blocks` added up from its parts: those kept, and the others counted (in one
    count whatever their number) and kept."""
    wanted = [part for block in blocks for part in block]
    found = _cached(cache.get_many, [keys[part] for part in wanted])
    kept = {part: found[keys[part]] for part in wanted if keys[part] in found}
    missing = [part for part in wanted if part not in kept]
    if missing:
        new = count_parts(scope, missing, window)
        _cached(cache.set_many, {keys[part]: new[part] for part in missing}, PARTS_SECONDS)
        kept.update(new)
    return [added_up([kept[part] for part in block]) for block in blocks]


def added_up(parts: list[dict]) -> dict:
    """One part holding what `parts` hold together."""
    total = {
        "counted_at": min(part["counted_at"] for part in parts),
        "open": open_added_up([part["open"] for part in parts]),
        "failures": Counter(),
        "groups": {},
        "visits": defaultdict(lambda: array("d")),
        "closings": Counter(),
        "ends": defaultdict(lambda: array("d")),
        "false_fails": Counter(),
    }
    for part in parts:
        total["failures"].update(part["failures"])
        total["closings"].update(part["closings"])
        total["false_fails"].update(part["false_fails"])
        for group, (n, still_open) in part["groups"].items():
            sums = total["groups"].get(group, (0, 0))
            total["groups"][group] = (sums[0] + n, sums[1] + still_open)
        for name in ("visits", "ends"):
            for key, seconds in part[name].items():
                total[name][key].extend(seconds)
    for name in ("visits", "ends"):
        # Sorted once here: a view's percentiles then sort runs already in order.
        total[name] = {key: array("d", sorted(seconds)) for key, seconds in total[name].items()}
    for name in ("failures", "closings", "false_fails"):
        total[name] = dict(total[name])
    return total


def _first_day(today: datetime.date) -> datetime.date:
    """The day the first incident was opened (today when there is none): where a period
    without a start begins."""
    first = Incident.objects.order_by("opened_at").values_list("opened_at", flat=True).first()
    return today if first is None else min(timezone.localdate(first), today)


def parts_of(
    first: datetime.date,
    last: datetime.date | None,
    today: datetime.date,
    days_from: datetime.date | None = None,
) -> list[Part]:
    """The days from `first` to `last` (both included; None: every day from `first` on) as
    parts (start, end): whole calendar months where they fit, single days elsewhere (and
    from `days_from` on), and with no `last` the days after today as one part without an end.
    Each part's end is the next one's start."""
    stop = (last or today) + datetime.timedelta(days=1)
    parts: list[Part] = []
    day = first
    while day < stop:
        following = _next_month(day)
        if day.day == 1 and following <= stop and (days_from is None or following <= days_from):
            parts.append((day, following))
            day = following
        else:
            parts.append((day, day + datetime.timedelta(days=1)))
            day += datetime.timedelta(days=1)
    if last is None:
        parts.append((max(first, stop), None))
    return parts


def _next_month(day: datetime.date) -> datetime.date:
    return (day.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)


def day_stamps(first: datetime.date) -> tuple[list[datetime.date], list[int]]:
    """The stamps of the days (in UTC) from the one `first` starts in, sorted by day: those
    the parts of a period from `first` are kept under (incidents.models.DashboardDay)."""
    rows = list(
        DashboardDay.objects.filter(day__gte=_utc_day(_day_start(first)))
        .order_by("day")
        .values_list("day", "stamp")
    )
    return [day for day, _stamp in rows], [stamp for _day, stamp in rows]


def _utc_day(moment: datetime.datetime) -> datetime.date:
    return moment.astimezone(datetime.UTC).date()


def _part_key(
    scope: Scope,
    stamps: tuple[list[datetime.date], list[int]],
    part: Part,
    window: tuple[datetime.date, datetime.date] | None,
    stages: list[str] | None,
) -> str:
    """What a part is kept under: the stamps of the days (in UTC) its incidents were opened
    in, which every change of them draws anew, and what else its counts depend on."""
    days, values = stamps
    low = bisect.bisect_left(days, _utc_day(_day_start(part[0])))
    if part[1] is None:
        high = len(days)
    else:
        last = _day_start(part[1]) - datetime.timedelta(microseconds=1)
        high = bisect.bisect_right(days, _utc_day(last))
    identity = (
        PARTS_LAYOUT,
        scope.project,
        scope.department,
        stages,
        sorted(access.hidden_projects(scope.viewer)),
        timezone.get_current_timezone_name(),
        part[0].isoformat(),
        part[1] and part[1].isoformat(),
        window and (window[0].isoformat(), window[1].isoformat()),
        days[low:high],
        values[low:high],
    )
    return "dashboard:part:" + hashlib.sha256(repr(identity).encode()).hexdigest()


# --- counting parts -------------------------------------------------------------------------------
def count_parts(
    scope: Scope, parts: list[Part], window: tuple[datetime.date, datetime.date] | None = None
) -> dict[Part, dict]:
    """What the incidents opened in each of `parts` contribute to the figures of `scope`'s
    project, department and viewer, in five queries whatever the number of parts; with a
    `window` (first and last day), only the visits entered and the closings in it."""
    now = timezone.now()
    parts = sorted(parts, key=lambda part: part[0])
    found = {
        part: {
            "counted_at": now,
            "open": [],
            "failures": Counter(),
            "groups": {},
            "visits": defaultdict(lambda: array("d")),
            "closings": Counter(),
            "ends": defaultdict(lambda: array("d")),
            "false_fails": {},
        }
        for part in parts
    }
    starts = [part[0] for part in parts]

    def part_of(day: datetime.date) -> dict | None:
        index = bisect.bisect_right(starts, day) - 1
        if index < 0 or (parts[index][1] is not None and day >= parts[index][1]):
            return None
        return found[parts[index]]

    undated = dataclasses.replace(scope, opened_from="", opened_to="", notices=())
    incidents = (
        undated.incidents().filter(_opened_in(parts)).annotate(opened=TruncDate("opened_at"))
    )

    for opened, pk, stage, step, entered, known, *place in _rows(
        incidents.filter(stage__in=OPEN_STAGES).values_list(
            "opened",
            "pk",
            "stage",
            "step",
            "stage_entered_at",
            "stage_entered_known",
            "device_id",
            "device__location_id",
        )
    ):
        if (part := part_of(opened)) is not None:
            since = entered.timestamp() if known else None
            part["open"].append((pk, stage, step, since, *place))

    for row in incidents.values("opened", *PARETO_FIELDS).annotate(n=Count("id")).order_by():
        if (part := part_of(row["opened"])) is not None:
            part["failures"][tuple(row[name] for name in PARETO_FIELDS)] += row["n"]

    for row in (
        incidents.filter(problem_group__isnull=False)
        .values("opened", "problem_group")
        .annotate(n=Count("id"), open=Count("id", filter=Q(stage__in=OPEN_STAGES)))
        .order_by()
    ):
        if (part := part_of(row["opened"])) is not None:
            total, still_open = part["groups"].get(row["problem_group"], (0, 0))
            part["groups"][row["problem_group"]] = (total + row["n"], still_open + row["open"])

    # Read from each incident's own timeline (an index of it), not from every visit that ended.
    event = connection.ops.quote_name(IncidentEvent._meta.db_table)
    ended, closings_in = Q(events__left_at__isnull=False), incidents
    if window is not None:
        start, end = _day_start(window[0]), _day_start(window[1] + datetime.timedelta(days=1))
        # One condition: the same entry of the timeline entered in the window and ended.
        ended &= Q(events__created_at__gte=start, events__created_at__lt=end)
        closings_in = incidents.filter(closed_at__gte=start, closed_at__lt=end)
    visits = (
        incidents.filter(ended)
        .annotate(
            entered=TruncDate("events__created_at"),
            week=RawSQL(_week_of(f"{event}.left_at"), (), output_field=TextField()),
            seconds=RawSQL(
                _seconds_between(f"{event}.left_at", f"{event}.created_at"),
                (),
                output_field=FloatField(),
            ),
        )
        .values_list("opened", "events__to_stage", "entered", "week", "seconds")
    )
    for opened, stage, entered, week, seconds in _rows(visits):
        if (part := part_of(opened)) is not None:
            part["visits"][(stage, entered.toordinal(), week)].append(float(seconds))

    incident = connection.ops.quote_name(Incident._meta.db_table)
    closings = (
        closings_in.filter(stage__in=TERMINAL_STAGES, closed_at__isnull=False)
        .annotate(
            closed=TruncDate("closed_at"),
            beyond=Exists(
                IncidentEvent.objects.filter(incident=OuterRef("pk"), to_stage__in=BEYOND_RETEST)
            ),
            seconds=RawSQL(
                _seconds_between(f"{incident}.closed_at", f"{incident}.opened_at"),
                (),
                output_field=FloatField(),
            ),
        )
        .values_list(
            "opened",
            "stage",
            "closed",
            "beyond",
            "seconds",
            "stage_entered_known",
            "fail_station",
            "fail_item",
        )
    )
    for opened, stage, closed, beyond, seconds, known, station, item in _rows(closings):
        if (part := part_of(opened)) is not None:
            nff = stage == Stage.RETURNED and not beyond
            closed = closed.toordinal()
            part["closings"][(stage, closed, nff)] += 1
            add_closings(part["false_fails"], station, item, closed, stage, nff)
            if stage in (Stage.RETURNED, Stage.SCRAPPED) and known:
                part["ends"][(stage, closed)].append(float(seconds))

    for part in found.values():
        part["open"] = open_figures(part["open"])
        # Plain dictionaries keep (a defaultdict's factory is not kept).
        for name in ("failures", "visits", "closings", "ends"):
            part[name] = dict(part[name])
    return found


def open_figures(rows: list[tuple]) -> dict:
    """What the open incidents `rows` (key, stage, step, in stage since as a timestamp or None,
    device, place) give the open figures, in a form that adds up: by stage and step; per stage
    the times they entered it, sorted, those entered at a time nobody knows, and the first
    OLDEST_SIZE (time, key); by stage and place (a device has one open incident at most, so
    these are devices)."""
    since: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for pk, stage, _step, entered, _device, _place in rows:
        if entered is not None:
            since[stage].append((entered, pk))
    return {
        "steps": Counter((row[1], row[2]) for row in rows),
        "unknown": Counter(row[1] for row in rows if row[3] is None),
        "places": Counter((row[1], row[5]) for row in rows if row[5] is not None),
        "since": {
            stage: array("d", sorted(time for time, _pk in pairs)) for stage, pairs in since.items()
        },
        "oldest": {stage: sorted(pairs)[:OLDEST_SIZE] for stage, pairs in since.items()},
    }


def open_added_up(parts: list[dict]) -> dict:
    """`open_figures` of the open incidents of `parts` (each what `open_figures` gave)."""
    total = {
        "steps": Counter(),
        "unknown": Counter(),
        "places": Counter(),
        "since": defaultdict(list),
        "oldest": defaultdict(list),
    }
    for part in parts:
        for name in ("steps", "unknown", "places"):
            total[name].update(part[name])
        for name in ("since", "oldest"):
            for stage, values in part[name].items():
                total[name][stage].extend(values)
    total["since"] = {stage: array("d", sorted(v)) for stage, v in total["since"].items()}
    total["oldest"] = {stage: sorted(v)[:OLDEST_SIZE] for stage, v in total["oldest"].items()}
    return total


def _rows(queryset) -> list[tuple]:
    """The rows of `queryset` (a values_list). PostgreSQL's driver gives the values as the ORM
    would (dates, aware times), so its rows are read as they come: the ORM's conversion of each
    value cost more than the query for the tens of thousands of visits of a quarter."""
    if connection.vendor != "postgresql":
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _opened_in(parts: list[Part]) -> Q:
    """Incidents opened in `parts` (sorted), one range per run of adjoining parts."""
    runs: list[list] = []
    for start, end in parts:
        if runs and runs[-1][1] == start:
            runs[-1][1] = end
        else:
            runs.append([start, end])
    condition = Q(pk__in=[])
    for start, end in runs:
        run = Q(opened_at__gte=_day_start(start))
        if end is not None:
            run &= Q(opened_at__lt=_day_start(end))
        condition |= run
    return condition


# --- the period's figures from its parts ---------------------------------------------------------
def figures_of(scope: Scope, may_see_groups: bool, parts: list[dict]) -> dict:
    """figures.every_figure for `scope`, from what the parts of its period keep."""
    stages = scope.stages()
    chosen = set(stages)
    now = timezone.now()
    opened = open_added_up([part["open"] for part in parts])
    ageing = _ageing(opened, stages, now)
    oldest = sorted(pair for stage in stages for pair in opened["oldest"].get(stage, ()))
    oldest = [pk for _since, pk in oldest[:OLDEST_SIZE]]
    devices_at: Counter = Counter()
    for (stage, place), n in opened["places"].items():
        if stage in chosen:
            devices_at[place] += n
    by_stage: Counter = Counter()
    for (stage, _step), n in opened["steps"].items():
        by_stage[stage] += n

    failures = Counter()
    groups: dict[int, list[int]] = {}
    for part in parts:
        failures.update(part["failures"])
        for group, (total, still_open) in part["groups"].items():
            sums = groups.setdefault(group, [0, 0])
            sums[0] += total
            sums[1] += still_open

    first, last = (day.toordinal() for day in flow_period(scope))
    visits: dict[str, list[float]] = defaultdict(list)
    weekly: dict[tuple[str, str], list[float]] = defaultdict(list)
    ends: dict[str, list[float]] = defaultdict(list)
    weeks: dict[datetime.date, Counter] = {}
    for part in parts:
        for (stage, entered, week), seconds in part["visits"].items():
            if first <= entered <= last:
                visits[stage].extend(seconds)
                weekly[(stage, week)].extend(seconds)
        for (stage, closed, nff), n in part["closings"].items():
            if first <= closed <= last:
                # The Monday of its week (day one of the ordinals was a Monday).
                monday = datetime.date.fromordinal(closed - (closed - 1) % 7)
                week = weeks.setdefault(monday, Counter())
                week[stage] += n
                week["nff"] += n if nff else 0
        for (stage, closed), seconds in part["ends"].items():
            if first <= closed <= last:
                ends[stage].extend(seconds)

    failure_rows = pareto_of(dict(failures), PARETO_FIELDS)
    return {
        "by_stage_step": dict(opened["steps"]),
        "departments": department_rows(by_stage),
        "cycle": _stage_rows({stage: nearest_rank(s) for stage, s in visits.items()}, stages),
        "trend": trend_of(scope, {key: nearest_rank(s)[1] for key, s in weekly.items()}),
        "end_to_end": _stage_rows(
            {stage: nearest_rank(s) for stage, s in ends.items()}, [Stage.RETURNED, Stage.SCRAPPED]
        ),
        "aging": aging_rows(ageing),
        "age_unknown": ageing[AGE_UNKNOWN],
        "oldest": _incidents(oldest),
        "pareto_items": failure_rows["fail_item"],
        "pareto_stations": failure_rows["fail_station"],
        # Every week of the period, those when nothing ended as zeros (as outcomes_by_week).
        "weeks": [
            outcome_row(
                monday,
                counts[Stage.RETURNED],
                counts[Stage.SCRAPPED],
                counts[Stage.CANCELLED],
                counts["nff"],
            )
            for monday, counts in (
                (monday, weeks.get(monday, Counter())) for monday in period_weeks(scope)
            )
        ],
        "false_fails": false_fail_rows(counts_of(parts, first, last)),
        "places": places_of(dict(devices_at)),
        "problem_groups": groups_of({pk: tuple(n) for pk, n in groups.items()})
        if may_see_groups
        else None,
        "projects": projects(scope.viewer),
    }


def _ageing(opened: dict, stages: list[str], now: datetime.datetime) -> dict[str, int]:
    """What `figures.aging_counted` counts, for the open incidents of `stages`, from the sorted
    times they entered their stage: each bucket's count is where its limits fall among them."""
    counts = {AGE_UNKNOWN: sum(opened["unknown"].get(stage, 0) for stage in stages)}
    for key, _label, low, high in AGING_BUCKETS:
        latest = (now - datetime.timedelta(days=low)).timestamp()
        earliest = None if high is None else (now - datetime.timedelta(days=high)).timestamp()
        counts[key] = 0
        for stage in stages:
            since = opened["since"].get(stage, ())
            counts[key] += bisect.bisect_right(since, latest) - (
                0 if earliest is None else bisect.bisect_right(since, earliest)
            )
    return counts


def _incidents(pks: list[int]) -> list[Incident]:
    if not pks:
        return []
    return list(
        Incident.objects.filter(pk__in=pks)
        .select_related("device__holder", "device__location", "assignee")
        .order_by("stage_entered_at", "pk")
    )
