"""Working time: when a span of working time that starts at some moment ends, and the inverse,
on a factory's calendar (working weekdays, one span of working hours a day, holidays and extra
working days), in the factory's time zone. Pure: it reads nothing but its arguments.

Each working day's span is turned into two instants through the zone, so a day whose clocks
change counts the time that really passed. A calendar without any working day in reach (no
weekday, no extra day ahead) gives no answer (None) rather than searching forever.
"""

import datetime
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

# How far the search goes, in calendar days, beyond what the amount itself needs: a run of
# holidays this long is taken as a calendar without working days.
SEARCH_SLACK_DAYS = 366


@dataclass(frozen=True)
class Calendar:
    """A factory's working calendar. `weekdays` counts Monday as 0; `start` is before `end`."""

    zone: datetime.tzinfo
    weekdays: frozenset[int] = frozenset(range(5))
    start: datetime.time = datetime.time(8, 30)
    end: datetime.time = datetime.time(17, 30)
    holidays: frozenset[datetime.date] = field(default_factory=frozenset)
    extra_days: frozenset[datetime.date] = field(default_factory=frozenset)

    def __post_init__(self):
        if not self.start < self.end:
            raise ValueError("A working day ends after it starts.")

    @classmethod
    def in_zone(cls, name: str, **kwargs) -> "Calendar":
        return cls(zone=ZoneInfo(name), **kwargs)

    @property
    def day_length(self) -> datetime.timedelta:
        """The working time of a day, as the wall clock counts it."""
        return datetime.datetime.combine(datetime.date.min, self.end) - datetime.datetime.combine(
            datetime.date.min, self.start
        )

    def is_working_day(self, day: datetime.date) -> bool:
        if day in self.holidays:
            return False
        return day.weekday() in self.weekdays or day in self.extra_days

    def span(self, day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
        """The day's working hours as two aware instants."""
        begin = datetime.datetime.combine(day, self.start, tzinfo=self.zone)
        finish = datetime.datetime.combine(day, self.end, tzinfo=self.zone)
        return begin.astimezone(datetime.UTC), finish.astimezone(datetime.UTC)

    def _reach(self, amount: datetime.timedelta) -> int:
        """How many calendar days a search for `amount` of working time may walk."""
        days_needed = amount / self.day_length if self.day_length else 0
        return int(days_needed * 7 / max(len(self.weekdays), 1)) + SEARCH_SLACK_DAYS

    def _local_day(self, moment: datetime.datetime) -> datetime.date:
        return moment.astimezone(self.zone).date()


def add_working_time(
    calendar: Calendar, start: datetime.datetime, amount: datetime.timedelta
) -> datetime.datetime | None:
    """The first moment by which `amount` of working time has passed since `start` (an aware
    datetime): `start` itself for no amount; None when the calendar has no working time ahead."""
    if amount <= datetime.timedelta(0):
        return start
    remaining = amount
    day = calendar._local_day(start)
    try:
        for _step in range(calendar._reach(amount)):
            if calendar.is_working_day(day):
                begin, finish = calendar.span(day)
                begin = max(begin, start)
                if begin < finish:
                    if remaining <= finish - begin:
                        return begin + remaining
                    remaining -= finish - begin
            day += datetime.timedelta(days=1)
    except OverflowError:
        # Walked off the end of the calendar (year 9999).
        pass
    return None


def subtract_working_time(
    calendar: Calendar, end: datetime.datetime, amount: datetime.timedelta
) -> datetime.datetime | None:
    """The latest moment from which `amount` of working time has passed by `end`: whatever began
    at or before it has had `amount` of working time by `end`, whatever began after it has not.
    None when the calendar had no working time before."""
    if amount <= datetime.timedelta(0):
        return end
    remaining = amount
    day = calendar._local_day(end)
    try:
        for _step in range(calendar._reach(amount)):
            if calendar.is_working_day(day):
                begin, finish = calendar.span(day)
                finish = min(finish, end)
                if begin < finish:
                    if remaining <= finish - begin:
                        return finish - remaining
                    remaining -= finish - begin
            day -= datetime.timedelta(days=1)
    except OverflowError:
        # Walked off the start of the calendar (year 1).
        pass
    return None
