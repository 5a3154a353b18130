"""The working calendar as a service holds it: the holiday package's years
(`cobuild_kit.working_time.official_years`) with the years an admin published over them, from
table `working_calendar_years` (kit migration 0006), versioned and never edited in place.

A service that counts working time reads `await calendar(conn)` when it computes a limit; a
limit keeps the calendar it was computed on (a later publication applies to new limits)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from cobuild_kit.working_time import (
    CalendarDay,
    CalendarYear,
    DayKind,
    WorkingCalendar,
    official_calendar,
    official_years,
)

# One publisher of a year at a time: versions are numbered without gaps.
_PUBLISH_LOCK = 0x0C0B_CA1E


@dataclass(frozen=True)
class PublishedYear:
    """One version of a year an admin published."""

    year: CalendarYear
    version: int
    published_by: str
    published_at: datetime


def _days_json(days: tuple[CalendarDay, ...]) -> list[dict[str, Any]]:
    return [{"day": d.day.isoformat(), "kind": d.kind.value, "name": d.name} for d in days]


def _published(row: asyncpg.Record) -> PublishedYear:
    days = tuple(
        CalendarDay(date.fromisoformat(d["day"]), DayKind(d["kind"]), d.get("name", ""))
        for d in row["days"]
    )
    source = f"admin v{row['version']}: {row['source']}"
    return PublishedYear(
        CalendarYear(row["year"], days, source),
        row["version"],
        row["published_by"],
        row["published_at"],
    )


async def published_years(conn: asyncpg.Connection) -> list[PublishedYear]:
    """The newest version of every year an admin published, by year."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (year) year, version, days, source, published_by, published_at
           FROM working_calendar_years ORDER BY year, version DESC"""
    )
    return [_published(r) for r in rows]


async def versions_of(conn: asyncpg.Connection, year: int) -> list[PublishedYear]:
    """Every published version of `year`, oldest first (the audit of its changes)."""
    rows = await conn.fetch(
        """SELECT year, version, days, source, published_by, published_at
           FROM working_calendar_years WHERE year = $1 ORDER BY version""",
        year,
    )
    return [_published(r) for r in rows]


async def calendar(conn: asyncpg.Connection) -> WorkingCalendar:
    """The package's years with the admins' newest versions over them."""
    return official_calendar(p.year for p in await published_years(conn))


async def publish(
    conn: asyncpg.Connection, year: CalendarYear, *, by: str, at: datetime
) -> PublishedYear:
    """Record `year` (checked with `CalendarYear.check`) as its next version. Inside the
    caller's transaction."""
    year.check()
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _PUBLISH_LOCK)
    version = await conn.fetchval(
        "SELECT coalesce(max(version), 0) + 1 FROM working_calendar_years WHERE year = $1",
        year.year,
    )
    row = await conn.fetchrow(
        """INSERT INTO working_calendar_years (year, version, days, source, published_by,
               published_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           RETURNING year, version, days, source, published_by, published_at""",
        year.year,
        version,
        _days_json(year.days),
        year.source,
        by,
        at,
    )
    assert row is not None
    return _published(row)


def package_years() -> tuple[int, ...]:
    """The years the holiday package knows."""
    return tuple(y.year for y in official_years())
