"""A period's figures put together from the figures of its parts, so that a changed date counts
only the days it adds, and people asking for overlapping periods share what they have in common.

When the dashboard's period has a start (opened_from), every figure counts incidents opened in
it, and an incident belongs to exactly one day: the day it was opened, in the factory's time. So
the period is cut into parts (whole calendar months, single days at its edges, and when it has
no end, the days after today as one part), and each part keeps what its incidents contribute,
in a form that adds up exactly:

    open      each open incident (stage, step, in stage since or None when nobody knows, device
              and its place), from which the open figures, the ageing and those it leaves out,
              the oldest, the heat map are counted at each view;
    failures  the count of each (fail item, fail station);
    groups    each problem group's incidents and open incidents;
    visits    the seconds of each stage visit that ended, by (stage, day entered, week ended);
    closings  how many closed, by (stage, day closed, no fault found), and the seconds from
              report to return or scrap by (stage, day closed), but of those imported closed;
              and how many returned or scrapped by (fail station, fail item, day closed, no
              fault found), for the stations that fail good devices.

The figures of flow (percentiles, outcomes per week) then take the visits and closings of the
period's days from the parts: a percentile is the nearest rank of the seconds themselves, never
of a summary, so a period's figures are those the database counts for it at once
(`figures.every_figure`), which the tests compare for periods across the parts' edges.

A part is kept under what it depends on and nothing else: the data version (any change the
figures read makes every part counted again), the project and department chosen, the restricted
projects hidden from the viewer (a part is shared only by people who see the same projects), the
factory's time zone and its days. It holds no words, so people of every language share it.
"""

import bisect
import dataclasses
import datetime
import hashlib
from array import array
from collections import Counter, defaultdict

from django.conf import settings
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
    aging_counts,
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
from incidents.dashboard.scope import AGE_UNKNOWN, Scope, _date, _day_start, flow_period
from incidents.dashboard.stations import add_closings, counts_of, false_fail_rows
from incidents.models import Incident, IncidentEvent

# Part of each part's key: raised when what a part keeps changes shape.
PARTS_LAYOUT = 3
OLDEST_SIZE = 10

Part = tuple[datetime.date, datetime.date | None]


def counted(scope: Scope, may_see_groups: bool, version: tuple | None) -> Counted:
    """Every figure of the dashboard for `scope` (figures.every_figure) and when the oldest of
    them was counted: put together from the kept parts of the period when it has a start and
    `version` (the data version the cache keys carry) is given; counted at once otherwise."""
    first = _date(scope.opened_from)
    if version is None or first is None:
        return Counted(every_figure(scope, may_see_groups), timezone.now())
    today = timezone.localdate()
    parts = parts_of(first, _date(scope.opened_to), today)
    keys = {part: _part_key(scope, version, part) for part in parts}
    found = _cached(cache.get_many, list(keys.values()))
    kept = {part: found[key] for part, key in keys.items() if key in found}
    missing = [part for part in parts if part not in kept]
    if missing:
        new = count_parts(scope, missing)
        seconds = settings.DASHBOARD_FIGURES_SECONDS
        _cached(cache.set_many, {keys[part]: new[part] for part in missing}, seconds)
        kept.update(new)
    every = [kept[part] for part in parts]
    return Counted(
        figures_of(scope, may_see_groups, every), min(part["counted_at"] for part in every)
    )


def parts_of(first: datetime.date, last: datetime.date | None, today: datetime.date) -> list[Part]:
    """The days from `first` to `last` (both included; None: every day from `first` on) as
    parts (start, end): whole calendar months where they fit, single days elsewhere, and with
    no `last` the days after today as one part without an end. Each part's end is the next
    one's start."""
    stop = (last or today) + datetime.timedelta(days=1)
    parts: list[Part] = []
    day = first
    while day < stop:
        following = _next_month(day)
        if day.day == 1 and following <= stop:
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


def _part_key(scope: Scope, version: tuple, part: Part) -> str:
    identity = (
        PARTS_LAYOUT,
        version,
        scope.project,
        scope.department,
        sorted(access.hidden_projects(scope.viewer)),
        timezone.get_current_timezone_name(),
        part[0].isoformat(),
        part[1] and part[1].isoformat(),
    )
    return "dashboard:part:" + hashlib.sha256(repr(identity).encode()).hexdigest()


# --- counting parts -------------------------------------------------------------------------------
def count_parts(scope: Scope, parts: list[Part]) -> dict[Part, dict]:
    """What the incidents opened in each of `parts` contribute to the figures of `scope`'s
    project, department and viewer, in five queries whatever the number of parts."""
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
            part["open"].append((pk, stage, step, entered if known else None, *place))

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
    visits = (
        incidents.filter(events__left_at__isnull=False)
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
            part["visits"][(stage, entered, week)].append(float(seconds))

    incident = connection.ops.quote_name(Incident._meta.db_table)
    closings = (
        incidents.filter(stage__in=TERMINAL_STAGES, closed_at__isnull=False)
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
            part["closings"][(stage, closed, nff)] += 1
            add_closings(part["false_fails"], station, item, closed, stage, nff)
            if stage in (Stage.RETURNED, Stage.SCRAPPED) and known:
                part["ends"][(stage, closed)].append(float(seconds))

    for part in found.values():
        # Plain dictionaries keep (a defaultdict's factory is not kept).
        for name in ("failures", "visits", "closings", "ends"):
            part[name] = dict(part[name])
    return found


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
    open_rows = [row for part in parts for row in part["open"]]
    in_stages = [row for row in open_rows if row[1] in chosen]

    ageing = aging_counts([row[3] for row in in_stages], now)
    devices_at: dict[int, set[int]] = defaultdict(set)
    for _pk, _stage, _step, _entered, device, location in in_stages:
        if location is not None:
            devices_at[location].add(device)
    aged = [row for row in in_stages if row[3] is not None]
    oldest = [row[0] for row in sorted(aged, key=lambda row: (row[3], row[0]))]
    oldest = oldest[:OLDEST_SIZE]

    failures = Counter()
    groups: dict[int, list[int]] = {}
    for part in parts:
        failures.update(part["failures"])
        for group, (total, still_open) in part["groups"].items():
            sums = groups.setdefault(group, [0, 0])
            sums[0] += total
            sums[1] += still_open

    first, last = flow_period(scope)
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
                week = weeks.setdefault(
                    closed - datetime.timedelta(days=closed.weekday()), Counter()
                )
                week[stage] += n
                week["nff"] += n if nff else 0
        for (stage, closed), seconds in part["ends"].items():
            if first <= closed <= last:
                ends[stage].extend(seconds)

    failure_rows = pareto_of(dict(failures), PARETO_FIELDS)
    return {
        "by_stage_step": dict(Counter((row[1], row[2]) for row in open_rows)),
        "departments": department_rows(Counter(row[1] for row in open_rows)),
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
        "places": places_of({place: len(devices) for place, devices in devices_at.items()}),
        "problem_groups": groups_of({pk: tuple(n) for pk, n in groups.items()})
        if may_see_groups
        else None,
        "projects": projects(scope.viewer),
    }


def _incidents(pks: list[int]) -> list[Incident]:
    if not pks:
        return []
    return list(
        Incident.objects.filter(pk__in=pks)
        .select_related("device__holder", "device__location", "assignee")
        .order_by("stage_entered_at", "pk")
    )
