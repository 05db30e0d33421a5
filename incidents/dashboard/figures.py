"""The dashboard's figures, each computed by the database (aggregates and window functions, never
a loop over incidents) for a `Scope` (incidents.dashboard.scope)."""

import datetime
import re
from collections import Counter

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncWeek
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.kit.lists import counted
from incidents import access
from incidents.choices import BEYOND_RETEST, OPEN_STAGES, TERMINAL_STAGES, ProblemGroupStatus, Stage
from incidents.dashboard.scope import (
    AGE_UNKNOWN,
    AGING_BUCKETS,
    Scope,
    _period_bounds,
    flow_period,
)
from incidents.dashboard.stations import false_fails
from incidents.models import Department, Incident, IncidentEvent, ProblemGroup, StageOwnership
from locations.models import Location
from locations.selectors import device_kinds

PARETO_SIZE = 10


# --- what is open where ---------------------------------------------------------------------------
def open_by_stage_and_step(scope: Scope) -> dict[tuple[str, str], int]:
    rows = (
        scope.incidents()
        .filter(stage__in=OPEN_STAGES)
        .values("stage", "step")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {(row["stage"], row["step"]): row["n"] for row in rows}


def open_by_department(scope: Scope) -> list[dict]:
    """Open incidents in the stages each department owns."""
    counts = {
        row["stage"]: row["n"]
        for row in scope.incidents()
        .filter(stage__in=OPEN_STAGES)
        .values("stage")
        .annotate(n=Count("id"))
        .order_by()
    }
    return department_rows(counts)


def department_rows(counts: dict[str, int]) -> list[dict]:
    """Per department: the stages it owns and the open incidents of `counts` (per stage) in
    them."""
    departments = {}
    for ownership in StageOwnership.objects.select_related("department").order_by("department"):
        entry = departments.setdefault(
            ownership.department_id,
            {"department": ownership.department, "stages": [], "count": 0},
        )
        entry["stages"].append(ownership.stage)
        entry["count"] += counts.get(ownership.stage, 0)
    return list(departments.values())


# --- how long stages take -------------------------------------------------------------------------
def _seconds_between(later: str, earlier: str) -> str:
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


def _percentiles_sql(durations_sql: str) -> str:
    """Per `grp`: how many, the median and the 90th percentile (nearest rank) of `seconds`.

    PostgreSQL's nearest-rank percentile sorts each group on its own, twice as fast as
    numbering the rows of every group in one sort (70 against 150 ms for the 35,000 visits of a
    quarter at 100,000 incidents); the embedded database numbers them, to the same ranks."""
    if connection.vendor == "postgresql":
        return f"""
            WITH durations AS ({durations_sql})
            SELECT grp, COUNT(*),
                   percentile_disc(0.5) WITHIN GROUP (ORDER BY seconds),
                   percentile_disc(0.9) WITHIN GROUP (ORDER BY seconds)
            FROM durations GROUP BY grp
        """
    return f"""
        WITH durations AS ({durations_sql}),
        ranked AS (
            SELECT grp, seconds,
                   ROW_NUMBER() OVER (PARTITION BY grp ORDER BY seconds) AS n,
                   COUNT(*) OVER (PARTITION BY grp) AS total
            FROM durations
        )
        SELECT grp, MAX(total),
               MAX(CASE WHEN n = (total + 1) / 2 THEN seconds END),
               MAX(CASE WHEN n = (9 * total + 9) / 10 THEN seconds END)
        FROM ranked GROUP BY grp
    """


def _week_of(column: str) -> str:
    """SQL for the Monday (YYYY-MM-DD) of the week `column` falls in, in the factory's time."""
    if connection.vendor == "postgresql":
        zone = str(timezone.get_current_timezone())
        if not re.fullmatch(r"[A-Za-z0-9_/+\-]+", zone):
            raise ValueError(f"unexpected time zone name {zone!r}")
        return f"to_char(date_trunc('week', {column} AT TIME ZONE '{zone}'), 'YYYY-MM-DD')"
    return f"date({column}, 'weekday 0', '-6 days')"


def _visit_durations(scope: Scope) -> tuple[str, list]:
    """SQL of the stage visits that ended, entered in the period, each counted twice: with
    `grp` its stage, and with `grp` "stage|Monday of the week it ended"; `seconds` its length.
    A visit starts with the entry that took the incident into the stage and ends when it left
    (IncidentEvent.left_at, kept by the writers): the period's visits are read once."""
    incidents = scope.incidents()
    in_scope, incidents_params = "", []
    # Every incident in scope (no filter, nothing hidden): the visits are read from their
    # index alone, without a join to every incident (43 to 8 ms at 100,000 incidents).
    if incidents.query.where:
        incidents_sql, incidents_params = incidents.values("id").query.sql_with_params()
        in_scope = f"AND e.incident_id IN ({incidents_sql})"
    event = IncidentEvent._meta.db_table
    start, end = _period_bounds(scope)
    durations = f"""
        WITH visits AS MATERIALIZED (
            SELECT e.to_stage AS stage, {_week_of("e.left_at")} AS week,
                   {_seconds_between("e.left_at", "e.created_at")} AS seconds
            FROM {event} e
            WHERE e.left_at IS NOT NULL AND e.created_at >= %s AND e.created_at < %s
              {in_scope}
        )
        SELECT stage AS grp, seconds FROM visits
        UNION ALL
        SELECT stage || '|' || week AS grp, seconds FROM visits
    """
    # As the database stores them: SQLite compares text, in UTC (an aware bound was read in
    # the factory's time, moving the period's visits by its offset).
    bounds = [connection.ops.adapt_datetimefield_value(bound) for bound in (start, end)]
    return durations, [*bounds, *incidents_params]


def stage_times(scope: Scope) -> tuple[list[dict], dict]:
    """Both figures of the time in stages, counted in one query: `stage_cycle_times` and
    `stage_cycle_trend`."""
    durations, params = _visit_durations(scope)
    rows = _percentiles(durations, params)
    medians = {}
    for grp, (_total, median, _p90) in rows.items():
        stage, sep, week = grp.partition("|")
        if sep:
            medians[(stage, week)] = median
    return _stage_rows(rows, scope.stages()), trend_of(scope, medians)


def period_weeks(scope: Scope) -> list[datetime.date]:
    """The Monday of each week the figures of flow count, first to last (a period is at most
    MAX_PERIOD long, so a few hundred at most)."""
    start, end = flow_period(scope)
    monday = start - datetime.timedelta(days=start.weekday())
    weeks = []
    while monday <= end:
        weeks.append(monday)
        monday += datetime.timedelta(weeks=1)
    return weeks


def trend_of(scope: Scope, medians: dict[tuple[str, str], object]) -> dict:
    """`stage_cycle_trend` from the median seconds per (stage, Monday as YYYY-MM-DD)."""
    weeks = period_weeks(scope)
    return {
        "weeks": weeks,
        "stages": [
            {
                "stage": stage,
                "label": Stage(stage).label,
                "median_hours": [_hours(medians.get((stage, week.isoformat()))) for week in weeks],
            }
            for stage in scope.stages()
        ],
    }


def stage_cycle_times(scope: Scope) -> list[dict]:
    """Per open stage: the visits that ended, their median and 90th-percentile time."""
    return stage_times(scope)[0]


def stage_cycle_trend(scope: Scope) -> dict:
    """The median time in each open stage per week its visits ended, over the weeks of the
    period: {"weeks": [Monday, ...], "stages": [{"stage", "label", "median_hours": [...]}]},
    None for a week without a visit of the stage."""
    return stage_times(scope)[1]


def end_to_end_times(scope: Scope) -> list[dict]:
    """From report to return or scrap, for the incidents closed so in the period (but those
    imported closed, whose closing time the workbook did not give)."""
    start, end = _period_bounds(scope)
    closed = scope.incidents().filter(
        stage__in=(Stage.RETURNED, Stage.SCRAPPED), closed_at__gte=start, closed_at__lt=end
    )
    closed = closed.filter(stage_entered_known=True)
    # The columns are read where the period's closings are found (the closed_at index), not
    # looked up again in every incident.
    sql, params = closed.values("stage", "opened_at", "closed_at").query.sql_with_params()
    durations = f"""
        SELECT stage AS grp, {_seconds_between("closed_at", "opened_at")} AS seconds
        FROM ({sql}) AS closed
    """
    rows = _percentiles(durations, params)
    return _stage_rows(rows, [Stage.RETURNED, Stage.SCRAPPED])


def _percentiles(durations_sql: str, params: list) -> dict[str, tuple]:
    """Per `grp`: (how many, median, 90th percentile) of the durations' seconds."""
    with connection.cursor() as cursor:
        cursor.execute(_percentiles_sql(durations_sql), params)
        return {grp: (total, median, p90) for grp, total, median, p90 in cursor.fetchall()}


def nearest_rank(seconds: list[float]) -> tuple[int, float | None, float | None]:
    """(how many, median, 90th percentile) of `seconds` by nearest rank: the ranks
    `_percentiles_sql` takes on every database."""
    ordered = sorted(seconds)
    total = len(ordered)
    if not total:
        return 0, None, None
    return total, ordered[(total + 1) // 2 - 1], ordered[(9 * total + 9) // 10 - 1]


def _stage_rows(rows: dict[str, tuple], stages: list[str]) -> list[dict]:
    """Per stage of `stages`: how many durations, their median and 90th percentile in hours."""
    result = []
    for stage in stages:
        total, median, p90 = rows.get(stage, (0, None, None))
        result.append(
            {
                "stage": stage,
                "label": Stage(stage).label,
                "count": total,
                "median_hours": _hours(median),
                "p90_hours": _hours(p90),
            }
        )
    return result


def _hours(seconds) -> float | None:
    return None if seconds is None else round(float(seconds) / 3600, 1)


def in_days(hours: float | None) -> float | None:
    """`hours` in days, the one unit of the dashboard's times (tables and charts alike): to
    a tenth of a day, to a hundredth under a quarter of one so that an hour is not nought."""
    if hours is None:
        return None
    days = hours / 24
    return round(days, 2) if days < 0.25 else round(days, 1)


def duration_text(hours: float | None) -> str:
    """A time as the dashboard shows it, in days."""
    if hours is None:
        return "—"
    return _("%(days)s d") % {"days": in_days(hours)}


# --- what waits too long --------------------------------------------------------------------------
def aging(scope: Scope) -> list[dict]:
    return aging_rows(aging_counted(scope))


def aging_counted(scope: Scope) -> dict[str, int]:
    """The count of each bucket of AGING_BUCKETS (by its key) among the open incidents of the
    scope's stages, and under AGE_UNKNOWN those left out of every bucket: imported without the
    time they entered their stage (Incident.stage_entered_known)."""
    now = timezone.now()
    aggregates = {AGE_UNKNOWN: Count("id", filter=Q(stage_entered_known=False))}
    for key, _label, low, high in AGING_BUCKETS:
        condition = Q(stage_entered_known=True)
        condition &= Q(stage_entered_at__lte=now - datetime.timedelta(days=low))
        if high is not None:
            condition &= Q(stage_entered_at__gt=now - datetime.timedelta(days=high))
        aggregates[key] = Count("id", filter=condition)
    return scope.incidents().filter(stage__in=scope.stages()).aggregate(**aggregates)


def aging_rows(counts: dict[str, int]) -> list[dict]:
    """`aging` from the count of each bucket (by its key)."""
    return [
        {"key": key, "label": label, "count": counts.get(key, 0)}
        for key, label, _l, _h in AGING_BUCKETS
    ]


def oldest_open(scope: Scope, size: int = 10) -> list[Incident]:
    """The open incidents longest in their stage (those imported without the time they entered
    it are not known to be)."""
    return list(
        scope.incidents()
        .filter(stage__in=scope.stages(), stage_entered_known=True)
        .select_related("device__holder", "device__location", "assignee")
        .order_by("stage_entered_at", "pk")[:size]
    )


# --- which failures cost most ---------------------------------------------------------------------
PARETO_FIELDS = ("fail_item", "fail_station")


def paretos(scope: Scope, fields: tuple[str, ...] = PARETO_FIELDS) -> dict[str, list[dict]]:
    """Per field of the incidents' failure in `fields` (fail_item, fail_station): its most
    frequent values, most frequent first (then by value), with the cumulative share of all
    incidents that name one. Each incident counts its own failure, so a device that failed
    twice counts both.

    One pass over the scope's incidents serves every field: the database counts each
    combination of the fields' values (a few hundred in a factory), and the counts are summed
    per field here, instead of a grouped count per field."""
    combinations = scope.incidents().values(*fields).annotate(n=Count("id")).order_by()
    return pareto_of(
        {tuple(row[name] for name in fields): row["n"] for row in combinations}, fields
    )


def pareto_of(combinations: dict[tuple, int], fields: tuple[str, ...]) -> dict[str, list[dict]]:
    """`paretos` from the count of each combination of the fields' values."""
    counts = {name: Counter() for name in fields}
    for values, n in combinations.items():
        for name, value in zip(fields, values, strict=True):
            if value:
                counts[name][value] += n
    return {name: _pareto_rows(counts[name]) for name in fields}


def _pareto_rows(counts: Counter) -> list[dict]:
    total = sum(counts.values())
    running, result = 0, []
    for value, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:PARETO_SIZE]:
        running += n
        result.append({"value": value, "count": n, "cumulative": round(100 * running / total, 1)})
    return result


# --- how incidents end ----------------------------------------------------------------------------
def outcomes_by_week(scope: Scope) -> list[dict]:
    """Per week of closing: returned, scrapped, cancelled, the scrap rate and how many returned
    straight from FAE retest."""
    beyond = Exists(
        IncidentEvent.objects.filter(incident=OuterRef("pk"), to_stage__in=BEYOND_RETEST)
    )
    start, end = _period_bounds(scope)
    rows = (
        scope.incidents()
        .filter(stage__in=TERMINAL_STAGES, closed_at__gte=start, closed_at__lt=end)
        .annotate(week=TruncWeek("closed_at"), beyond=beyond)
        .values("week")
        .annotate(
            returned=Count("id", filter=Q(stage=Stage.RETURNED)),
            scrapped=Count("id", filter=Q(stage=Stage.SCRAPPED)),
            cancelled=Count("id", filter=Q(stage=Stage.CANCELLED)),
            nff=Count("id", filter=Q(stage=Stage.RETURNED, beyond=False)),
        )
        .order_by("week")
    )
    counted = {}
    for row in rows:
        week = row["week"]
        week = timezone.localdate(week) if isinstance(week, datetime.datetime) else week
        counted[week] = (row["returned"], row["scrapped"], row["cancelled"], row["nff"])
    # Every week of the period, a week when nothing ended as zeros: a gap in the chart would
    # read as no data rather than as nothing closed.
    return [outcome_row(week, *counted.get(week, (0, 0, 0, 0))) for week in period_weeks(scope)]


def outcome_row(week: datetime.date, returned: int, scrapped: int, cancelled: int, nff: int):
    """One week of `outcomes_by_week`."""
    ended = returned + scrapped
    return {
        "week": week,
        "returned": returned,
        "scrapped": scrapped,
        "cancelled": cancelled,
        "nff": nff,
        "scrap_rate": round(100 * scrapped / ended, 1) if ended else None,
    }


# --- where devices are ----------------------------------------------------------------------------
def open_devices_by_location(scope: Scope) -> list[dict]:
    """Places holding devices with open incidents, each with its count including the places
    inside it, as rows of the tree (building → area → shelf), largest first at each level."""
    direct = {
        row["device__location"]: row["n"]
        for row in scope.incidents()
        .filter(stage__in=scope.stages(), device__location__isnull=False)
        .values("device__location")
        .annotate(n=Count("device", distinct=True))
        .order_by()
    }
    return places_of(direct)


# The heat map's rows: at each level the places holding most devices, at most PLACES_CHILDREN
# under one place and PLACES_SIZE in all. A factory has hundreds of shelves: listed all, they were
# most of the page at 100,000 incidents, and a reader looks at where devices pile up.
PLACES_CHILDREN = 6
PLACES_SIZE = 30


def places_of(direct: dict[int, int]) -> list[dict]:
    """`open_devices_by_location` from the devices with open incidents at each place itself."""
    if not direct:
        return []
    # Every place with its parent, in one query (a few hundred in a factory): the places
    # holding devices and those above them.
    places = {
        place.pk: place
        for place in Location.objects.only("pk", "code", "name", "kind", "parent_id")
    }
    totals: dict[int, int] = {}
    for pk, count in direct.items():
        seen = set()
        current = pk
        while current is not None and current in places and current not in seen:
            seen.add(current)
            totals[current] = totals.get(current, 0) + count
            current = places[current].parent_id
    children: dict[int | None, list[int]] = {}
    for pk in totals:
        parent = places[pk].parent_id
        children.setdefault(parent if parent in totals else None, []).append(pk)
    rows: list[dict] = []
    peak = max(totals.values())

    def walk(parent, depth):
        ranked = sorted(children.get(parent, []), key=lambda p: (-totals[p], places[p].code))
        for pk in ranked[:PLACES_CHILDREN]:
            if len(rows) >= PLACES_SIZE:
                return
            rows.append(
                {
                    "location": places[pk],
                    "depth": depth,
                    "count": totals[pk],
                    "heat": round(totals[pk] / peak, 2),
                }
            )
            if depth < 10:
                walk(pk, depth + 1)

    walk(None, 0)
    return rows


# --- problem groups -------------------------------------------------------------------------------
def open_problem_groups(scope: Scope, size: int = 10) -> list[ProblemGroup]:
    """The open groups with incidents in scope, most open incidents first; each group's counts
    are a subquery of its own incidents (an index lookup), not a join of every incident."""
    incidents = scope.incidents()
    return list(
        ProblemGroup.objects.filter(status__in=OPEN_GROUPS)
        .filter(Exists(incidents.filter(problem_group=OuterRef("pk"))))
        .annotate(
            incident_count=counted(incidents, "problem_group"),
            open_count=counted(incidents.filter(stage__in=OPEN_STAGES), "problem_group"),
        )
        .order_by("-open_count", "created_at", "pk")[:size]
    )


OPEN_GROUPS = (ProblemGroupStatus.OPEN, ProblemGroupStatus.INVESTIGATING)


def groups_of(counts: dict[int, tuple[int, int]], size: int = 10) -> list[ProblemGroup]:
    """`open_problem_groups` from each group's incidents and open incidents in scope."""
    if not counts:
        return []
    # Ranked from the open groups' keys and ages (a few hundred at most), then the first
    # `size` read whole.
    ranked = sorted(
        (
            (-counts[pk][1], created_at, pk)
            for pk, created_at in ProblemGroup.objects.filter(status__in=OPEN_GROUPS)
            .order_by()
            .values_list("pk", "created_at")
            if pk in counts
        )
    )[:size]
    chosen = [pk for _open, _created, pk in ranked]
    first = {group.pk: group for group in ProblemGroup.objects.filter(pk__in=chosen)}
    groups = []
    for pk in chosen:
        group = first[pk]
        group.incident_count, group.open_count = counts[pk]
        groups.append(group)
    return groups


# --- choices for the filters ----------------------------------------------------------------------
def projects(viewer) -> list[str]:
    """The projects to filter by: those of the devices `viewer` sees, read by stepping through
    an index of them (a distinct over every incident's device took 30 ms at 100,000)."""
    sees = access.sees_project(viewer)
    named = {project for project, _version in device_kinds() if project and sees(project)}
    return sorted(named)[:200]


def departments() -> list[Department]:
    return list(Department.objects.order_by("code"))


# --- every figure of the page ---------------------------------------------------------------------
def every_figure(scope: Scope, may_see_groups: bool) -> dict:
    """Every figure the database counts for `scope`, before links and charts are added (what
    the cache keeps); the problem groups only for those who may see them (None otherwise)."""
    cycle, trend = stage_times(scope)
    failures = paretos(scope)
    ages = aging_counted(scope)
    return {
        "by_stage_step": open_by_stage_and_step(scope),
        "departments": open_by_department(scope),
        "cycle": cycle,
        "trend": trend,
        "end_to_end": end_to_end_times(scope),
        "aging": aging_rows(ages),
        "age_unknown": ages[AGE_UNKNOWN],
        "oldest": oldest_open(scope),
        "pareto_items": failures["fail_item"],
        "pareto_stations": failures["fail_station"],
        "weeks": outcomes_by_week(scope),
        "false_fails": false_fails(scope),
        "places": open_devices_by_location(scope),
        "problem_groups": open_problem_groups(scope) if may_see_groups else None,
        "projects": projects(scope.viewer),
    }
