"""Stage deadlines, read: the factory's working calendar as the maths takes it
(config.kit.workhours), each stage's target, an incident's deadline, and which incidents are
past theirs.

An incident's deadline is its stage entry plus the stage's target in working time; none for a
stage without a target, nor for an incident whose stage entry nobody knows (imported,
Incident.stage_entered_known). Which incidents are past it is asked of the database through one
instant per stage (`subtract_working_time`: whatever entered the stage at or before it has had
its target of working time by now), so the lists filter and count it in SQL.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from config.kit.workhours import Calendar, add_working_time, subtract_working_time
from incidents.choices import OPEN_STAGES, TargetUnit
from incidents.models import CalendarDay, DeadlineCrossing, Incident, StageOwnership, WorkCalendar
from incidents.models.deadlines import DEFAULT_END, DEFAULT_START, DEFAULT_WEEKDAYS


@dataclass(frozen=True)
class Deadlines:
    """The calendar and the stages' targets, read once for a page or a round of checks."""

    calendar: Calendar
    targets: dict[str, datetime.timedelta]

    def target(self, stage: str, level: int = DeadlineCrossing.FIRST) -> datetime.timedelta | None:
        """The working time an incident may spend in `stage` before crossing `level` (the
        second comes a working day after the first)."""
        target = self.targets.get(stage)
        if target is None:
            return None
        return target if level == DeadlineCrossing.FIRST else target + self.calendar.day_length

    def deadline(
        self, incident: Incident, level: int = DeadlineCrossing.FIRST
    ) -> datetime.datetime | None:
        """When the incident's stage visit crosses `level`; None without one."""
        target = self.target(incident.stage, level)
        if target is None or not incident.stage_entered_known or not incident.is_open:
            return None
        return add_working_time(self.calendar, incident.stage_entered_at, target)

    def entered_by(
        self, stage: str, now: datetime.datetime, level: int = DeadlineCrossing.FIRST
    ) -> datetime.datetime | None:
        """The latest stage entry that has crossed `level` by `now`; None when none can."""
        target = self.target(stage, level)
        if target is None:
            return None
        return subtract_working_time(self.calendar, now, target)

    def past(self, now: datetime.datetime | None = None, level: int = DeadlineCrossing.FIRST) -> Q:
        """Incidents past their deadline (`level`) at `now`, as a condition on incidents."""
        now = now or timezone.now()
        condition = Q(pk__in=[])
        for stage in self.targets:
            entered_by = self.entered_by(stage, now, level)
            if entered_by is not None:
                condition |= Q(stage=stage, stage_entered_at__lte=entered_by)
        return condition & Q(stage_entered_known=True)


def work_calendar() -> WorkCalendar:
    """The factory's working calendar (its defaults until an administrator saves it)."""
    return WorkCalendar.objects.filter(pk=1).first() or WorkCalendar(
        pk=1, weekdays=DEFAULT_WEEKDAYS, day_start=DEFAULT_START, day_end=DEFAULT_END
    )


def calendar_read() -> Calendar:
    """The working calendar for the maths, with every holiday and extra working day."""
    week = work_calendar()
    days = CalendarDay.objects.values_list("day", "working")
    return Calendar.in_zone(
        settings.TIME_ZONE,
        weekdays=frozenset(int(day) for day in week.weekdays if day.isdigit()),
        start=week.day_start,
        end=week.day_end,
        holidays=frozenset(day for day, working in days if not working),
        extra_days=frozenset(day for day, working in days if working),
    )


def deadlines_read() -> Deadlines:
    calendar = calendar_read()
    targets = {}
    ownerships = StageOwnership.objects.filter(stage__in=OPEN_STAGES, target__isnull=False)
    for stage, target, unit in ownerships.values_list("stage", "target", "target_unit"):
        unit_length = (
            calendar.day_length if unit == TargetUnit.DAYS else datetime.timedelta(hours=1)
        )
        targets[stage] = target * unit_length
    return Deadlines(calendar=calendar, targets=targets)


def incidents_past_deadline(
    incidents=None, *, now: datetime.datetime | None = None, deadlines: Deadlines | None = None
):
    """Of `incidents` (every incident when None), those past their stage's deadline."""
    deadlines = deadlines or deadlines_read()
    incidents = Incident.objects.all() if incidents is None else incidents
    return incidents.filter(deadlines.past(now))
