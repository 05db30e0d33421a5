"""The dashboard's figures, each computed by the database (aggregates and window functions, never
a loop over incidents), and the filters that make the incident list show the same incidents.

`scope_filter` is the one definition of what a dashboard filter means: the dashboard narrows
its figures with it, and the incident list's `DashboardFilter` (incidents.admin.dashboard)
narrows the list with it, so a number and the list its link opens always agree.

Filters (query parameters, on the dashboard and on the incident list alike):
    project=<text>           the device's project
    department=<id>          incidents the department worked on: now in, or once in, a stage it owns
    opened_from, opened_to   YYYY-MM-DD, the day the incident was opened (both inclusive)
    state=open|closed        open, or returned/scrapped/cancelled
    fail_item, fail_station  exact values of the incident's failure
    location=<id>            the device is at this place or anywhere inside it
    aged=<bucket>            time in the current stage (AGING_BUCKETS)
    closed_week=YYYY-MM-DD   closed in the week starting that Monday, within the period of flow
    nff=1                    returned to the line straight from FAE retest (no fault found)
    sent_back=1              sent back at least once in the current stage (round 2 or more)
"""

import datetime
import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncWeek
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from config.kit.lists import counted
from incidents import access
from incidents.choices import (
    BEYOND_RETEST,
    OPEN_STAGES,
    TERMINAL_STAGES,
    ProblemGroupStatus,
    Stage,
    Step,
)
from incidents.models import (
    ConfigChange,
    Department,
    Employee,
    Incident,
    IncidentEvent,
    ProblemGroup,
    StageOwnership,
)
from locations.models import Device, Location
from locations.selectors import device_kinds

logger = logging.getLogger(__name__)

SCOPE_PARAMS = ("project", "department", "opened_from", "opened_to")
DRILL_PARAMS = (
    "state",
    "fail_item",
    "fail_station",
    "location",
    "aged",
    "closed_week",
    "nff",
    "sent_back",
)
PARAMS = SCOPE_PARAMS + DRILL_PARAMS

# Time in the current stage: (key, label, at least, less than) in days.
AGING_BUCKETS = (
    ("lt1d", _("under 1 day"), 0, 1),
    ("1to3d", _("1–3 days"), 1, 3),
    ("3to7d", _("3–7 days"), 3, 7),
    ("7to14d", _("1–2 weeks"), 7, 14),
    ("gt14d", _("over 2 weeks"), 14, None),
)
PARETO_SIZE = 10


# The days a dashboard filter may name: a factory's records start after EARLIEST_DAY, and
# nothing is opened more than a year ahead. A date outside them names nothing (and Python's
# dates end at 9999-12-31, so a day after the last overflowed).
EARLIEST_DAY = datetime.date(2000, 1, 1)
LATEST_AHEAD = datetime.timedelta(days=366)
# The longest period the figures of flow count: weeks are counted one by one, and a period of
# centuries cost seconds of every process's time.
MAX_PERIOD = datetime.timedelta(days=3 * 366)


def _date(value) -> datetime.date | None:
    """A day a filter names, or None when it names none (unreadable, or out of range)."""
    try:
        day = parse_date(value) if value else None
    except ValueError:
        return None
    if day is None or not EARLIEST_DAY <= day <= timezone.localdate() + LATEST_AHEAD:
        return None
    return day


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _department_stages(department_id) -> list[str]:
    return list(
        StageOwnership.objects.filter(department_id=department_id).values_list("stage", flat=True)
    )


def _location_and_inside(location_id) -> list[int]:
    """The place and every place inside it (the tree is walked level by level, bounded)."""
    found, level = [int(location_id)], [int(location_id)]
    for _depth in range(20):
        level = list(Location.objects.filter(parent_id__in=level).values_list("pk", flat=True))
        if not level:
            break
        found += level
    return found


def scope_filter(queryset: QuerySet, params) -> QuerySet:
    """`queryset` of incidents narrowed by the filters in `params` (a dict or QueryDict);
    values that are not valid narrow nothing."""
    value = {name: (params.get(name) or "").strip() for name in PARAMS}
    if value["project"]:
        queryset = queryset.filter(device__project=value["project"])
    if value["department"].isdigit() and len(value["department"]) <= 18:
        stages = _department_stages(value["department"])
        queryset = queryset.filter(
            Q(stage__in=stages)
            | Exists(IncidentEvent.objects.filter(incident=OuterRef("pk"), to_stage__in=stages))
        )
    if start := _date(value["opened_from"]):
        queryset = queryset.filter(opened_at__gte=_day_start(start))
    if end := _date(value["opened_to"]):
        queryset = queryset.filter(opened_at__lt=_day_start(end + datetime.timedelta(days=1)))
    if value["state"] == "open":
        queryset = queryset.filter(stage__in=OPEN_STAGES)
    elif value["state"] == "closed":
        queryset = queryset.filter(stage__in=TERMINAL_STAGES)
    if value["fail_item"]:
        queryset = queryset.filter(fail_item=value["fail_item"])
    if value["fail_station"]:
        queryset = queryset.filter(fail_station=value["fail_station"])
    if value["location"].isdigit() and len(value["location"]) <= 18:
        queryset = queryset.filter(device__location__in=_location_and_inside(value["location"]))
    buckets = {key: (low, high) for key, _label, low, high in AGING_BUCKETS}
    if value["aged"] in buckets:
        low, high = buckets[value["aged"]]
        now = timezone.now()
        queryset = queryset.filter(stage_entered_at__lte=now - datetime.timedelta(days=low))
        if high is not None:
            queryset = queryset.filter(stage_entered_at__gt=now - datetime.timedelta(days=high))
    if week := _date(value["closed_week"]):
        # The days of the week inside the period of flow, as the dashboard counts them: its
        # first and last weeks are cut at the period's ends.
        first, last = _flow_days(value["opened_from"], value["opened_to"])
        monday = week - datetime.timedelta(days=week.weekday())
        queryset = queryset.filter(
            closed_at__gte=_day_start(max(monday, first)),
            closed_at__lt=_day_start(
                min(monday + datetime.timedelta(days=7), last + datetime.timedelta(days=1))
            ),
        )
    if value["nff"] == "1":
        queryset = queryset.filter(stage=Stage.RETURNED).exclude(
            Exists(
                IncidentEvent.objects.filter(incident=OuterRef("pk"), to_stage__in=BEYOND_RETEST)
            )
        )
    if value["sent_back"] == "1":
        queryset = queryset.filter(stage_round__gt=1)
    return queryset


@dataclass(frozen=True)
class Scope:
    """The dashboard's filters as chosen, and whose dashboard it is: the figures count only
    the incidents of projects the viewer sees (nobody's view: those of unrestricted projects)."""

    project: str = ""
    department: str = ""
    opened_from: str = ""
    opened_to: str = ""
    viewer: object = field(default=None, compare=False)
    # What was changed in the filters as given, in words for the reader (dates left out, a
    # period shortened to MAX_PERIOD).
    notices: tuple = field(default=(), compare=False)

    @classmethod
    def from_params(cls, params, viewer=None) -> "Scope":
        values = {name: str(params.get(name) or "").strip()[:100] for name in SCOPE_PARAMS}
        notices = []
        if not values["department"].isdigit() or len(values["department"]) > 18:
            values["department"] = ""
        for name in ("opened_from", "opened_to"):
            if values[name] and not _date(values[name]):
                notices.append(
                    _(
                        "The date %(value)s is not a day between %(first)s and a year from now; "
                        "the figures do not use it."
                    )
                    % {"value": values[name], "first": EARLIEST_DAY.isoformat()}
                )
                values[name] = ""
        start, end = _date(values["opened_from"]), _date(values["opened_to"])
        if start and end and start > end:
            values["opened_from"], values["opened_to"] = values["opened_to"], values["opened_from"]
            start, end = end, start
        if start and (end or timezone.localdate()) - start > MAX_PERIOD:
            start = (end or timezone.localdate()) - MAX_PERIOD
            values["opened_from"] = start.isoformat()
            notices.append(
                _("A period counts at most %(years)s years: it starts on %(start)s.")
                % {"years": MAX_PERIOD.days // 366, "start": values["opened_from"]}
            )
        return cls(**values, viewer=viewer, notices=tuple(notices))

    def params(self) -> dict:
        return {name: getattr(self, name) for name in SCOPE_PARAMS if getattr(self, name)}

    def incidents(self) -> QuerySet:
        """The incidents the figures count, unordered (a figure orders what it lists; a
        subquery sorted for nothing costs a sort of every incident)."""
        incidents = access.restrict(Incident.objects.order_by(), self.viewer)
        return scope_filter(incidents, self.params())

    def list_url(self, changelist: str, **more) -> str:
        """The incident list showing what a number counts. Stages and steps are the list's own
        check boxes (`stage__exact`, repeated for several), so its filter panel shows them
        ticked and clears them."""
        return f"{changelist}?{urlencode({**self.params(), **more}, doseq=True)}"

    def open_params(self) -> dict:
        """The list's filter for the open incidents the figures count: in the chosen
        department's stages, or in any open stage."""
        if self.department:
            return {"stage__exact": self.stages()}
        return {"state": "open"}

    def stages(self) -> list[str]:
        """The open stages the figures are about (a department's own when one is chosen)."""
        if self.department:
            owned = set(_department_stages(self.department))
            return [stage for stage in OPEN_STAGES if stage in owned]
        return list(OPEN_STAGES)


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


# How far back the figures of flow (time in stages, from report to end, outcomes per week) look
# when no start date is chosen: a quarter, not the whole history.
FLOW_WEEKS = 13


def flow_period(scope: Scope) -> tuple[datetime.date, datetime.date]:
    """The first and last day the figures of flow count: the chosen dates, or the last
    FLOW_WEEKS weeks up to the chosen end (today when none)."""
    return _flow_days(scope.opened_from, scope.opened_to)


def _flow_days(opened_from: str, opened_to: str) -> tuple[datetime.date, datetime.date]:
    end = _date(opened_to) or timezone.localdate()
    start = _date(opened_from) or end - datetime.timedelta(weeks=FLOW_WEEKS, days=-1)
    return start, end


def _period_bounds(scope: Scope) -> tuple[datetime.datetime, datetime.datetime]:
    start, end = flow_period(scope)
    return _day_start(start), _day_start(end + datetime.timedelta(days=1))


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
    return durations, [start, end, *incidents_params]


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
    start, end = flow_period(scope)
    monday = start - datetime.timedelta(days=start.weekday())
    weeks = []
    while monday <= end:
        weeks.append(monday)
        monday += datetime.timedelta(weeks=1)
    trend = {
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
    return _stage_rows(rows, scope.stages()), trend


def stage_cycle_times(scope: Scope) -> list[dict]:
    """Per open stage: the visits that ended, their median and 90th-percentile time."""
    return stage_times(scope)[0]


def stage_cycle_trend(scope: Scope) -> dict:
    """The median time in each open stage per week its visits ended, over the weeks of the
    period: {"weeks": [Monday, ...], "stages": [{"stage", "label", "median_hours": [...]}]},
    None for a week without a visit of the stage."""
    return stage_times(scope)[1]


def end_to_end_times(scope: Scope) -> list[dict]:
    """From report to return or scrap, for the incidents closed so in the period."""
    start, end = _period_bounds(scope)
    closed = scope.incidents().filter(
        stage__in=(Stage.RETURNED, Stage.SCRAPPED), closed_at__gte=start, closed_at__lt=end
    )
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


def duration_text(hours: float | None) -> str:
    """Hours up to two days, days beyond."""
    if hours is None:
        return "—"
    if hours < 48:
        return _("%(hours)s h") % {"hours": hours}
    return _("%(days)s d") % {"days": round(hours / 24, 1)}


# --- what waits too long --------------------------------------------------------------------------
def aging(scope: Scope) -> list[dict]:
    now = timezone.now()
    aggregates = {}
    for key, _label, low, high in AGING_BUCKETS:
        condition = Q(stage_entered_at__lte=now - datetime.timedelta(days=low))
        if high is not None:
            condition &= Q(stage_entered_at__gt=now - datetime.timedelta(days=high))
        aggregates[key] = Count("id", filter=condition)
    counts = scope.incidents().filter(stage__in=scope.stages()).aggregate(**aggregates)
    return [
        {"key": key, "label": label, "count": counts[key]} for key, label, _l, _h in AGING_BUCKETS
    ]


def oldest_open(scope: Scope, size: int = 10) -> list[Incident]:
    return list(
        scope.incidents()
        .filter(stage__in=scope.stages())
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
    counts = {name: Counter() for name in fields}
    for row in combinations:
        for name in fields:
            if row[name]:
                counts[name][row[name]] += row["n"]
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
    weeks = []
    for row in rows:
        ended = row["returned"] + row["scrapped"]
        week = row["week"]
        weeks.append(
            {
                **row,
                "week": timezone.localdate(week) if isinstance(week, datetime.datetime) else week,
                "scrap_rate": round(100 * row["scrapped"] / ended, 1) if ended else None,
            }
        )
    return weeks


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
    if not direct:
        return []
    places = {
        place.pk: place
        for place in Location.objects.filter(pk__in=_ancestors_of(list(direct))).only(
            "pk", "code", "name", "kind", "parent_id"
        )
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
        for pk in sorted(children.get(parent, []), key=lambda p: (-totals[p], places[p].code)):
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


def _ancestors_of(location_ids: list[int]) -> list[int]:
    found, level = set(location_ids), list(location_ids)
    for _depth in range(20):
        level = [
            parent
            for parent in Location.objects.filter(pk__in=level).values_list("parent_id", flat=True)
            if parent is not None and parent not in found
        ]
        if not level:
            break
        found.update(level)
    return list(found)


# --- problem groups -------------------------------------------------------------------------------
def open_problem_groups(scope: Scope, size: int = 10) -> list[ProblemGroup]:
    """The open groups with incidents in scope, most open incidents first; each group's counts
    are a subquery of its own incidents (an index lookup), not a join of every incident."""
    incidents = scope.incidents()
    return list(
        ProblemGroup.objects.filter(
            status__in=(ProblemGroupStatus.OPEN, ProblemGroupStatus.INVESTIGATING)
        )
        .filter(Exists(incidents.filter(problem_group=OuterRef("pk"))))
        .annotate(
            incident_count=counted(incidents, "problem_group"),
            open_count=counted(incidents.filter(stage__in=OPEN_STAGES), "problem_group"),
        )
        .order_by("-open_count", "created_at")[:size]
    )


# --- choices for the filters ----------------------------------------------------------------------
def projects(viewer) -> list[str]:
    """The projects to filter by: those of the devices `viewer` sees, read by stepping through
    an index of them (a distinct over every incident's device took 30 ms at 100,000)."""
    sees = access.sees_project(viewer)
    named = {project for project, _version in device_kinds() if project and sees(project)}
    return sorted(named)[:200]


def departments() -> list[Department]:
    return list(Department.objects.order_by("code"))


def chart(labels: list, datasets: list[dict]) -> str:
    """The JSON Unfold's chart components read."""
    return json.dumps({"labels": [str(label) for label in labels], "datasets": datasets})


STEP_ORDER = (Step.UNASSIGNED, Step.ASSIGNED, Step.SUBMITTED)


# --- what concerns the person looking -------------------------------------------------------------
def department_load(department: Department, viewer) -> list[dict]:
    """Each active member of the department with the open incidents assigned to them (of the
    projects `viewer` sees)."""
    people = list(department.employees.filter(is_active=True).order_by("display_name"))
    # Counted from the open incidents (an index range), not joined to every incident each
    # member was ever assigned.
    counts = dict(
        access.restrict(Incident.objects.order_by(), viewer)
        .filter(stage__in=OPEN_STAGES, assignee__in=[person.pk for person in people])
        .values_list("assignee")
        .annotate(n=Count("id"))
    )
    load = [{"person": person, "count": counts.get(person.pk, 0)} for person in people]
    return sorted(load, key=lambda row: -row["count"])


def misconfigurations() -> list[str]:
    """What stops the workflow, for administrators: open stages no department owns, and
    departments owning a stage without any supervisor to assign or review it."""
    problems = []
    owned = set(StageOwnership.objects.values_list("stage", flat=True))
    for stage in OPEN_STAGES:
        if stage not in owned:
            problems.append(
                _("No department owns the stage “%(stage)s”: set it in Stage ownership.")
                % {"stage": Stage(stage).label}
            )
    unsupervised = Department.objects.filter(
        pk__in=StageOwnership.objects.values("department"), supervisors__isnull=True
    )
    for department in unsupervised.order_by("code"):
        problems.append(
            _("%(department)s owns stages but has no supervisor to assign or review them.")
            % {"department": department.localized_name}
        )
    return problems


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
FIGURES_LAYOUT = 2


class Kept(NamedTuple):
    figures: dict
    counted_at: datetime.datetime
    # What the figures are kept under (None when they are counted on every view): the page's
    # panels made of them are kept under it too.
    key: str | None


def kept(scope: Scope, compute: Callable[[], dict], *variant) -> Kept:
    """The figures `compute` returns for `scope`, when they were counted and the key they are
    kept under.

    Everyone who sees the same projects with the same filters (and the same `variant`, in the
    same language) shares them for DASHBOARD_FIGURES_SECONDS, as long as nothing they read has
    changed (`data_version`): a manager's reload, and the live reload of every open dashboard
    after a change, count once. The time limit bounds what a version cannot see (the age of
    open incidents grows; a bulk change that writes no history), so no figure is older than it.
    """
    seconds = settings.DASHBOARD_FIGURES_SECONDS
    if seconds <= 0:
        return Kept(compute(), timezone.now(), None)
    try:
        return _kept(scope, compute, variant, seconds)
    except CacheUnavailable:
        # Without the cache (Redis down) the figures are counted, as with keeping off.
        logger.warning("dashboard figures: the cache does not answer", exc_info=True)
        return Kept(compute(), timezone.now(), None)


class CacheUnavailable(Exception):
    pass


def _cached(call, *args):
    try:
        return call(*args)
    except Exception as error:
        raise CacheUnavailable from error


def _kept(scope: Scope, compute, variant: tuple, seconds: int) -> Kept:
    identity = (
        FIGURES_LAYOUT,
        data_version(),
        _cached(cache.get, CHANGES_KEY),
        scope.params(),
        sorted(access.hidden_projects(scope.viewer)),
        variant,
        get_language(),
        timezone.localdate().isoformat(),
    )
    key = "dashboard:" + hashlib.sha256(repr(identity).encode()).hexdigest()
    found = _cached(cache.get, key)
    if found is None:
        found = (compute(), timezone.now())
        _cached(cache.set, key, found, seconds)
    return Kept(*found, key)


# Counts the workflow's committed changes: a change whose keys were taken before another's
# committed does not raise `data_version`, so the key of kept figures carries this too.
CHANGES_KEY = "dashboard:changes"


def figures_changed() -> None:
    """A change of the workflow has committed: kept figures are counted again."""
    try:
        cache.add(CHANGES_KEY, 0, None)
        cache.incr(CHANGES_KEY)
    except Exception:
        logger.warning("dashboard figures: the cache does not answer", exc_info=True)
