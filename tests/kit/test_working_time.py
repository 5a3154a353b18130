"""The working calendar: the package's official holidays and adjusted working days, an admin's
published year over them, and Monday to Friday, provisional, beyond the known years."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from cobuild_kit.clock import BUSINESS_TZ
from cobuild_kit.working_time import (
    CalendarDay,
    CalendarRuleError,
    CalendarYear,
    DayKind,
    WorkingCalendar,
    WorkingHours,
    official_calendar,
    official_years,
)

CAL = official_calendar()
HOURS = WorkingHours(time(9), time(17))


def local(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BUSINESS_TZ)


def shown(at: datetime) -> datetime:
    return at.astimezone(BUSINESS_TZ).replace(tzinfo=None)


def test_the_package_knows_2026_with_its_adjusted_saturdays() -> None:
    years = {y.year for y in official_years()}
    assert 2026 in years and 2027 not in years
    assert CAL.known_through == date(2026, 12, 31)
    # Spring Festival 2026: 15–23 February off; Saturdays 14 and 28 February worked.
    assert CAL.is_working_day(date(2026, 2, 14))  # a Saturday
    assert not CAL.is_working_day(date(2026, 2, 16))  # a Monday in the holiday
    assert CAL.is_working_day(date(2026, 2, 28))
    # National Day 2026: 1–7 October off; Sunday 20 September and Saturday 10 October worked.
    assert not CAL.is_working_day(date(2026, 10, 5))
    assert CAL.is_working_day(date(2026, 10, 10))
    assert not CAL.is_working_day(date(2026, 10, 11))  # an ordinary Sunday


def test_friday_before_spring_festival_in_working_days() -> None:
    friday = local(2026, 2, 13, 16)  # the Friday before the holiday
    # 1 working day: the adjusted Saturday 14 February, at its close.
    one = CAL.add_working_days(friday, 1, HOURS)
    assert shown(one.at) == datetime(2026, 2, 14, 17) and not one.provisional
    # 2 working days: over the whole holiday to Tuesday 24 February.
    two = CAL.add_working_days(friday, 2, HOURS)
    assert shown(two.at) == datetime(2026, 2, 24, 17) and not two.provisional


def test_friday_before_spring_festival_in_working_hours() -> None:
    friday = local(2026, 2, 13, 16)
    # One hour left on Friday, three on the adjusted Saturday.
    d = CAL.add_working_hours(friday, timedelta(hours=4), HOURS)
    assert shown(d.at) == datetime(2026, 2, 14, 12) and not d.provisional
    # Eight hours from 16:00 Saturday 14 February: 1 h, then the holiday, 7 h on the 24th.
    d = CAL.add_working_hours(local(2026, 2, 14, 16), timedelta(hours=8), HOURS)
    assert shown(d.at) == datetime(2026, 2, 24, 16)


def test_national_day_2026_and_its_saturday() -> None:
    # Raised on Wednesday 30 September afternoon: the next working day is Thursday 8 October.
    d = CAL.add_working_days(local(2026, 9, 30, 15), 1, HOURS)
    assert shown(d.at) == datetime(2026, 10, 8, 17)
    d = CAL.add_working_days(local(2026, 9, 30, 15), 3, HOURS)
    assert shown(d.at) == datetime(2026, 10, 10, 17)  # the adjusted Saturday


def test_hours_outside_the_working_day() -> None:
    # Before opening: counted from 9:00; after closing: from the next working day's opening.
    d = CAL.add_working_hours(local(2026, 3, 2, 7), timedelta(hours=2), HOURS)
    assert shown(d.at) == datetime(2026, 3, 2, 11)
    d = CAL.add_working_hours(local(2026, 3, 6, 18), timedelta(hours=2), HOURS)  # Friday
    assert shown(d.at) == datetime(2026, 3, 9, 11)  # Monday
    # A limit ending exactly at a close stays on that day.
    d = CAL.add_working_hours(local(2026, 3, 2, 9), timedelta(hours=8), HOURS)
    assert shown(d.at) == datetime(2026, 3, 2, 17)
    # Other hours are a setting.
    late = WorkingHours(time(8, 30), time(17, 30))
    d = CAL.add_working_hours(local(2026, 3, 2, 17), timedelta(hours=1), late)
    assert shown(d.at) == datetime(2026, 3, 3, 9)
    assert d.at.tzinfo == UTC


def test_beyond_the_known_data_monday_to_friday_and_provisional() -> None:
    # 2027 is not in the package: National Day 2027 is unknown, so 1 October 2027 (a Friday)
    # counts as a working day, and the answer says it is provisional.
    d = CAL.add_working_days(local(2027, 9, 30, 15), 1, HOURS)
    assert shown(d.at) == datetime(2027, 10, 1, 17) and d.provisional
    d = CAL.add_working_days(local(2027, 10, 1, 15), 1, HOURS)  # Friday → Monday
    assert shown(d.at) == datetime(2027, 10, 4, 17) and d.provisional
    d = CAL.add_working_hours(local(2027, 3, 5, 16), timedelta(hours=2), HOURS)
    assert shown(d.at) == datetime(2027, 3, 8, 10) and d.provisional
    # A limit that reaches over new year into the unknown year is provisional too.
    d = CAL.add_working_days(local(2026, 12, 31, 10), 1, HOURS)
    assert shown(d.at) == datetime(2027, 1, 1, 17) and d.provisional
    # One that stays inside the known year is not.
    d = CAL.add_working_days(local(2026, 12, 29, 10), 1, HOURS)
    assert shown(d.at) == datetime(2026, 12, 30, 17) and not d.provisional


def test_a_published_year_wins_and_is_no_longer_provisional() -> None:
    national_day = tuple(
        CalendarDay(date(2027, 10, d), DayKind.HOLIDAY, "National Day") for d in range(1, 8)
    )
    y2027 = CalendarYear(
        2027,
        (*national_day, CalendarDay(date(2027, 10, 9), DayKind.WORKING_DAY, "National Day")),
        "admin v1",
    )
    y2027.check()
    cal = official_calendar([y2027])
    d = cal.add_working_days(local(2027, 9, 30, 15), 1, HOURS)
    assert shown(d.at) == datetime(2027, 10, 8, 17) and not d.provisional
    d = cal.add_working_days(local(2027, 9, 30, 15), 2, HOURS)
    assert shown(d.at) == datetime(2027, 10, 9, 17)  # the adjusted Saturday
    # The admin's year also wins over the package for a year both know.
    cal = official_calendar([CalendarYear(2026, (), "admin v1: no holidays")])
    assert cal.is_working_day(date(2026, 2, 16)) and not cal.is_working_day(date(2026, 2, 14))


def test_a_published_year_is_checked() -> None:
    with pytest.raises(CalendarRuleError) as e:
        CalendarYear(2027, (CalendarDay(date(2028, 1, 1), DayKind.HOLIDAY),), "x").check()
    assert e.value.field == "body.days.0.day"
    monday = CalendarDay(date(2027, 10, 11), DayKind.WORKING_DAY)
    with pytest.raises(CalendarRuleError, match="weekday"):
        CalendarYear(2027, (monday,), "x").check()
    twice = CalendarDay(date(2027, 10, 1), DayKind.HOLIDAY)
    with pytest.raises(CalendarRuleError, match="twice") as e:
        CalendarYear(2027, (twice, twice), "x").check()
    assert e.value.field == "body.days.1.day"


def test_limits_must_count_something_and_a_calendar_of_holidays_is_refused() -> None:
    with pytest.raises(ValueError):
        CAL.add_working_days(local(2026, 3, 2), 0, HOURS)
    with pytest.raises(ValueError):
        CAL.add_working_hours(local(2026, 3, 2), timedelta(0), HOURS)
    with pytest.raises(ValueError):
        WorkingHours(time(17), time(9))
    all_off = [
        CalendarYear(
            y,
            tuple(
                CalendarDay(date(y, 1, 1) + timedelta(days=i), DayKind.HOLIDAY)
                for i in range((date(y + 1, 1, 1) - date(y, 1, 1)).days)
            ),
            "x",
        )
        for y in (2030, 2031)
    ]
    with pytest.raises(ValueError, match="no working day"):
        WorkingCalendar(all_off).add_working_days(local(2030, 1, 1), 1, HOURS)
