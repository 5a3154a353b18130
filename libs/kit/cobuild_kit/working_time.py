"""Working time on the Chinese official calendar (ARCHITECTURE.md, "Working time").

A time limit ("respond within 4 working hours", "resolve within 5 working days") is counted on
working days only: Monday to Friday, less the official public holidays, plus the adjusted
working days (调休) the State Council moves onto weekends around them. The calendar is data:
- seeded from the `chinesecalendar` package (the years it ships, 2004 to its last release);
- extended by an admin who publishes a year's official calendar when the State Council does
  (`cobuild_kit.working_calendar` keeps those years, versioned), which also wins over the
  package for a year both know;
- beyond the known years, Monday to Friday, and every result that depended on such a day is
  marked **provisional** (`Deadline.provisional`), so a page can say the limit may move.

Pure: dates and instants in, dates and instants out. Business dates and working hours are
Asia/Shanghai (`cobuild_kit.clock.BUSINESS_TZ`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache

from cobuild_kit.clock import BUSINESS_TZ

# A calendar with no working day for this long is a data error, not a long holiday.
_MAX_SEARCH_DAYS = 400


class DayKind(StrEnum):
    HOLIDAY = "holiday"  # a day off (a public holiday, or a weekday moved off by 调休)
    WORKING_DAY = "working_day"  # a weekend day worked instead (调休上班)


@dataclass(frozen=True)
class CalendarDay:
    day: date
    kind: DayKind
    name: str = ""


class CalendarRuleError(ValueError):
    """A published year that cannot be right; `field` names the offending input."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class CalendarYear:
    """One year's official exceptions to Monday–Friday, and where they came from."""

    year: int
    days: tuple[CalendarDay, ...]
    source: str  # "package chinesecalendar 1.11.0", or "admin v2"

    def check(self, field: str = "body.days") -> None:
        """The rules a published year must keep: its days lie in the year, once each, and an
        adjusted working day falls on a weekend (a weekday is a working day already)."""
        seen: set[date] = set()
        for i, d in enumerate(self.days):
            where = f"{field}.{i}.day"
            if d.day.year != self.year:
                raise CalendarRuleError(f"{d.day} is not in {self.year}", where)
            if d.day in seen:
                raise CalendarRuleError(f"{d.day} is listed twice", where)
            seen.add(d.day)
            if d.kind is DayKind.WORKING_DAY and d.day.weekday() < 5:
                raise CalendarRuleError(
                    f"{d.day} is a weekday: only a weekend day can be an adjusted working day",
                    where,
                )


@dataclass(frozen=True)
class WorkingHours:
    """The working day's hours (Asia/Shanghai); a service's settings choose them."""

    opens: time = time(9, 0)
    closes: time = time(17, 0)

    def __post_init__(self) -> None:
        if not self.opens < self.closes:
            raise ValueError(f"working hours must open before they close ({self})")

    @property
    def length(self) -> timedelta:
        return _at(date(2000, 1, 3), self.closes) - _at(date(2000, 1, 3), self.opens)


@dataclass(frozen=True)
class Deadline:
    """A limit's instant (UTC), and whether it rests on a day beyond the known calendar."""

    at: datetime
    provisional: bool


def _at(day: date, t: time) -> datetime:
    return datetime.combine(day, t, tzinfo=BUSINESS_TZ)


class WorkingCalendar:
    """Which days are worked, for the known years; Monday to Friday beyond them."""

    def __init__(self, years: Iterable[CalendarYear]) -> None:
        self._years: dict[int, CalendarYear] = {}
        for y in years:  # a later entry for the same year replaces an earlier one
            self._years[y.year] = y
        self._days: dict[date, DayKind] = {
            d.day: d.kind for y in self._years.values() for d in y.days
        }

    @property
    def years(self) -> Mapping[int, CalendarYear]:
        return dict(self._years)

    def known(self, day: date) -> bool:
        return day.year in self._years

    @property
    def known_through(self) -> date | None:
        """The last day of the last known year (None for an empty calendar)."""
        return date(max(self._years), 12, 31) if self._years else None

    def is_working_day(self, day: date) -> bool:
        kind = self._days.get(day)
        if kind is not None:
            return kind is DayKind.WORKING_DAY
        return day.weekday() < 5

    def next_working_day(self, after: date) -> tuple[date, bool]:
        """The first working day after `after`, and whether any day looked at was unknown."""
        day, provisional = after, False
        for _ in range(_MAX_SEARCH_DAYS):
            day += timedelta(days=1)
            provisional |= not self.known(day)
            if self.is_working_day(day):
                return day, provisional
        raise ValueError(f"no working day within {_MAX_SEARCH_DAYS} days after {after}")

    def add_working_days(
        self, start: datetime, days: int, hours: WorkingHours = WorkingHours()
    ) -> Deadline:
        """The close of the `days`-th working day after the business date of `start` (the
        day itself does not count, as "within N working days" is read): raised on a Friday
        afternoon with 1 working day, due at the close of the next working day."""
        if days < 1:
            raise ValueError("a limit in working days counts at least one day")
        day, provisional = start.astimezone(BUSINESS_TZ).date(), False
        for _ in range(days):
            day, unknown = self.next_working_day(day)
            provisional |= unknown
        return Deadline(_at(day, hours.closes).astimezone(UTC), provisional)

    def add_working_hours(
        self, start: datetime, amount: timedelta, hours: WorkingHours = WorkingHours()
    ) -> Deadline:
        """`amount` of working time after `start`, counted only inside the working hours of
        working days. Started outside them, the count begins at the next opening; a limit
        that ends exactly at a close stays on that day."""
        if amount <= timedelta(0):
            raise ValueError("a limit in working hours counts some time")
        local = start.astimezone(BUSINESS_TZ)
        day = local.date()
        provisional = not self.known(day)
        opens, closes = _at(day, hours.opens), _at(day, hours.closes)
        if not self.is_working_day(day) or local >= closes:
            day, unknown = self.next_working_day(day)
            provisional |= unknown
            cursor = _at(day, hours.opens)
        else:
            cursor = max(local, opens)
        left = amount
        while True:
            available = _at(day, hours.closes) - cursor
            if left <= available:
                return Deadline((cursor + left).astimezone(UTC), provisional)
            left -= available
            day, unknown = self.next_working_day(day)
            provisional |= unknown
            cursor = _at(day, hours.opens)


PACKAGE = "chinesecalendar"


@lru_cache(maxsize=1)
def official_years() -> tuple[CalendarYear, ...]:
    """Every year the holiday package knows, as calendar years (read once per process)."""
    import chinese_calendar  # the package's data tables: imported where they are read
    from chinese_calendar import constants

    source = f"package {PACKAGE} {chinese_calendar.__version__}"
    by_year: dict[int, list[CalendarDay]] = {}
    for day, name in constants.holidays.items():
        by_year.setdefault(day.year, []).append(CalendarDay(day, DayKind.HOLIDAY, str(name)))
    for day, name in constants.workdays.items():
        by_year.setdefault(day.year, []).append(CalendarDay(day, DayKind.WORKING_DAY, str(name)))
    first, last = min(by_year), max(by_year)
    return tuple(
        CalendarYear(y, tuple(sorted(by_year.get(y, []), key=lambda d: d.day)), source)
        for y in range(first, last + 1)
    )


def official_calendar(extra: Iterable[CalendarYear] = ()) -> WorkingCalendar:
    """The package's years, with `extra` (an admin's published years) over them."""
    return WorkingCalendar([*official_years(), *extra])
