"""Working time on a factory's calendar: weekends, holidays, extra working days, moments outside
working hours, a zone other than UTC (and one whose clocks change), and the inverse that the
lists filter with agrees with the deadline everywhere."""

import datetime
import random
from zoneinfo import ZoneInfo

import pytest

from config.kit.workhours import Calendar, add_working_time, subtract_working_time

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR = datetime.timedelta(hours=1)
DAY = 9 * HOUR  # 08:30 to 17:30


def at(day: str, clock: str, zone=SHANGHAI) -> datetime.datetime:
    return datetime.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=zone)


@pytest.fixture
def week():
    # 2026-12-07 is a Monday.
    return Calendar(zone=SHANGHAI)


def test_within_a_working_day(week):
    assert add_working_time(week, at("2026-12-07", "09:00"), 2 * HOUR) == at("2026-12-07", "11:00")


def test_the_rest_carries_to_the_next_morning(week):
    # 16:30 + 3h: one hour today, two tomorrow from 08:30.
    assert add_working_time(week, at("2026-12-07", "16:30"), 3 * HOUR) == at("2026-12-08", "10:30")


def test_a_span_ending_with_the_day_ends_at_closing_time(week):
    assert add_working_time(week, at("2026-12-07", "08:30"), DAY) == at("2026-12-07", "17:30")


def test_the_weekend_is_skipped(week):
    # Friday 15:30 + 2 working days (18h): 2h on Friday, 9h Monday, 7h Tuesday.
    friday = at("2026-12-11", "15:30")
    assert add_working_time(week, friday, 2 * DAY) == at("2026-12-15", "15:30")


def test_a_start_outside_working_hours_counts_from_the_next_opening(week):
    # Saturday night, before Monday's opening, Monday's lunch hour counted as work.
    assert add_working_time(week, at("2026-12-12", "23:00"), HOUR) == at("2026-12-14", "09:30")
    assert add_working_time(week, at("2026-12-07", "06:00"), HOUR) == at("2026-12-07", "09:30")
    assert add_working_time(week, at("2026-12-07", "20:00"), HOUR) == at("2026-12-08", "09:30")


def test_holidays_are_skipped_and_extra_days_worked():
    calendar = Calendar(
        zone=SHANGHAI,
        holidays=frozenset({datetime.date(2026, 12, 8)}),  # Tuesday off
        extra_days=frozenset({datetime.date(2026, 12, 12)}),  # Saturday worked
    )
    assert add_working_time(calendar, at("2026-12-07", "17:00"), HOUR) == at("2026-12-09", "09:00")
    assert add_working_time(calendar, at("2026-12-11", "17:00"), HOUR) == at("2026-12-12", "09:00")


def test_a_holiday_on_an_extra_day_is_a_holiday():
    day = datetime.date(2026, 12, 12)
    calendar = Calendar(zone=SHANGHAI, holidays=frozenset({day}), extra_days=frozenset({day}))
    assert not calendar.is_working_day(day)


def test_the_zone_is_the_factorys_not_utc(week):
    # 00:30 UTC is 08:30 in Shanghai: the day has just begun there.
    start = datetime.datetime(2026, 12, 7, 0, 30, tzinfo=datetime.UTC)
    assert add_working_time(week, start, HOUR) == at("2026-12-07", "09:30")
    # 10:00 UTC on Friday is 18:00 in Shanghai: after closing, so Monday.
    friday_evening = datetime.datetime(2026, 12, 11, 10, 0, tzinfo=datetime.UTC)
    assert add_working_time(week, friday_evening, HOUR) == at("2026-12-14", "09:30")


def test_a_day_whose_clocks_change_counts_the_time_that_passed():
    # Berlin, 2026-03-29: 02:00 → 03:00. A day of 01:00 to 05:00 on the wall is three hours.
    berlin = ZoneInfo("Europe/Berlin")
    calendar = Calendar(
        zone=berlin,
        weekdays=frozenset(range(7)),
        start=datetime.time(1, 0),
        end=datetime.time(5, 0),
    )
    start = at("2026-03-29", "01:00", berlin)
    assert add_working_time(calendar, start, 3 * HOUR) == at("2026-03-29", "05:00", berlin)
    assert add_working_time(calendar, start, 4 * HOUR) == at("2026-03-30", "02:00", berlin)


def test_no_amount_is_no_time(week):
    start = at("2026-12-12", "23:00")
    assert add_working_time(week, start, datetime.timedelta(0)) == start


def test_a_calendar_without_working_days_gives_no_deadline():
    never = Calendar(zone=SHANGHAI, weekdays=frozenset())
    assert add_working_time(never, at("2026-12-07", "09:00"), HOUR) is None
    assert subtract_working_time(never, at("2026-12-07", "09:00"), HOUR) is None
    # Extra days only in the past: nothing ahead.
    once = Calendar(
        zone=SHANGHAI, weekdays=frozenset(), extra_days=frozenset({datetime.date(2026, 1, 5)})
    )
    assert add_working_time(once, at("2026-12-07", "09:00"), HOUR) is None


def test_the_end_of_time_gives_no_deadline(week):
    start = datetime.datetime(9999, 12, 30, 9, 0, tzinfo=datetime.UTC)
    assert add_working_time(week, start, 10 * DAY) is None
    start_of_time = datetime.datetime(1, 1, 2, tzinfo=datetime.UTC)
    assert subtract_working_time(week, start_of_time, 10 * DAY) is None


def test_a_day_must_end_after_it_starts():
    with pytest.raises(ValueError):
        Calendar(zone=SHANGHAI, start=datetime.time(18), end=datetime.time(8))


def test_subtracting_finds_the_latest_start_that_is_due(week):
    # Monday 10:30, 3 working hours back: Friday 16:30.
    assert subtract_working_time(week, at("2026-12-14", "10:30"), 3 * HOUR) == at(
        "2026-12-11", "16:30"
    )
    # Exactly a morning's opening: everything since the previous closing is due as well.
    assert subtract_working_time(week, at("2026-12-14", "09:30"), HOUR) == at("2026-12-14", "08:30")


def test_subtracting_agrees_with_adding_everywhere():
    """For random calendars, starts and nows: a stage entry is at or before the instant the
    lists filter with exactly when its deadline is not after now."""
    rng = random.Random(27)
    for _case in range(60):
        weekdays = frozenset(d for d in range(7) if rng.random() < 0.7) or frozenset({0})
        base = datetime.date(2026, 12, 1)
        holidays = frozenset(base + datetime.timedelta(days=rng.randrange(40)) for _ in range(4))
        calendar = Calendar(
            zone=SHANGHAI,
            weekdays=weekdays,
            start=datetime.time(rng.randrange(0, 10), rng.choice([0, 30])),
            end=datetime.time(rng.randrange(14, 24), rng.choice([0, 30])),
            holidays=holidays,
        )
        amount = datetime.timedelta(minutes=rng.randrange(1, 60 * 40))
        now = at("2026-12-20", "00:00") + datetime.timedelta(minutes=rng.randrange(60 * 24 * 14))
        latest = subtract_working_time(calendar, now, amount)
        for _entry in range(25):
            entry = now - datetime.timedelta(minutes=rng.randrange(60 * 24 * 20))
            due = add_working_time(calendar, entry, amount)
            assert (due is not None and due <= now) == (latest is not None and entry <= latest), (
                calendar,
                amount,
                now,
                entry,
                due,
                latest,
            )
        if latest is not None:
            assert add_working_time(calendar, latest, amount) == now or (
                add_working_time(calendar, latest, amount) <= now
            )
