"""What the dashboard's filters mean, and the period its figures cover: the filters that make the
incident list show the same incidents as a number, the days a filter may name, and `Scope`.

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
    aged=<bucket>            time in the current stage (AGING_BUCKETS); `unknown`: imported
                             without the time they entered their stage (in no bucket)
    closed_week=YYYY-MM-DD   closed in the week starting that Monday, within the period of flow
    nff=1                    returned to the line straight from FAE retest (no fault found)
    closed_from, closed_to   YYYY-MM-DD, the day the incident was closed (both inclusive); a
                             value that names no day lists nothing
    sent_back=1              sent back at least once in the current stage (round 2 or more)
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from incidents.choices import BEYOND_RETEST, OPEN_STAGES, TERMINAL_STAGES, Stage
from incidents.models import Incident, IncidentEvent, StageOwnership
from locations.models import Location

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
    "closed_from",
    "closed_to",
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
# The `aged` of the incidents in no bucket: imported without the time they entered their stage.
AGE_UNKNOWN = "unknown"

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
        queryset = queryset.filter(stage_entered_known=True)
        queryset = queryset.filter(stage_entered_at__lte=now - datetime.timedelta(days=low))
        if high is not None:
            queryset = queryset.filter(stage_entered_at__gt=now - datetime.timedelta(days=high))
    elif value["aged"] == AGE_UNKNOWN:
        queryset = queryset.filter(stage_entered_known=False)
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
    for name, lookup, days in (("closed_from", "gte", 0), ("closed_to", "lt", 1)):
        if value[name]:
            if (day := _date(value[name])) is None:
                # A link of the dashboard names a day: anything else was not given by one.
                return queryset.none()
            bound = _day_start(day + datetime.timedelta(days=days))
            queryset = queryset.filter(**{f"closed_at__{lookup}": bound})
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
        incidents = Incident.objects.order_by().visible_to(self.viewer)
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
