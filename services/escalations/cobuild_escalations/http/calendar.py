"""The working calendar time limits are counted on: its known years, a year's days, and an
admin's publication of a year's official calendar."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from cobuild_contracts.base import MAX_YEAR, MIN_YEAR
from cobuild_kit.api import AUTHENTICATED, refusals
from cobuild_kit.service import ActorDep
from cobuild_kit.working_calendar import PublishedYear, package_years
from cobuild_kit.working_time import PACKAGE, CalendarDay, CalendarYear, DayKind
from fastapi import APIRouter, Path

from cobuild_escalations.http.models import CalendarOut, DayIO, YearIn, YearOut, YearVersion
from cobuild_escalations.settings import RuntimeDep
from cobuild_escalations.usecases import calendar

router = APIRouter(prefix="/working-calendar", tags=["working calendar"], responses=AUTHENTICATED)
YearPath = Annotated[int, Path(ge=MIN_YEAR, le=MAX_YEAR)]


def _version(p: PublishedYear) -> YearVersion:
    return YearVersion(
        year=p.year.year,
        version=p.version,
        source=p.year.source,
        published_by=p.published_by,
        published_at=p.published_at,
    )


@router.get("")
async def overview(actor: ActorDep, rt: RuntimeDep) -> CalendarOut:
    """Which years are known (from the holiday package, or published by an admin), and the
    working day's hours. Beyond `known_through`, time limits are counted Monday to Friday
    and marked provisional."""
    cal, published = await calendar.current(rt)
    years = package_years()
    return CalendarOut(
        known_years=sorted(cal.years),
        known_through=cal.known_through,
        package=f"{PACKAGE} ({years[0]}–{years[-1]})",
        published=[_version(p) for p in published],
        working_day_opens=rt.settings.working_day_opens,
        working_day_closes=rt.settings.working_day_closes,
    )


@router.get("/years/{year}", responses=refusals(404))
async def year(year: YearPath, actor: ActorDep, rt: RuntimeDep) -> YearOut:
    """A year's holidays and adjusted working days as time limits count them now, and every
    version an admin published of it."""
    cal, _ = await calendar.current(rt)
    known = cal.years.get(year)
    return YearOut(
        year=year,
        known=known is not None,
        source=None if known is None else known.source,
        days=[]
        if known is None
        else [DayIO(day=d.day, kind=d.kind, name=d.name) for d in known.days],
        versions=[_version(p) for p in await calendar.versions(rt, year)],
    )


@router.post("/years/{year}", status_code=201, responses=refusals(403, 404, 409))
async def publish(year: YearPath, body: YearIn, actor: ActorDep, rt: RuntimeDep) -> YearOut:
    """An operator or a district admin publishes a year's official calendar, as the State
    Council's notice gives it: its public holidays (`holiday`) and its adjusted working days
    (`working_day`, weekend days worked). Each publication is a new version of the year, kept
    with who published it and the notice; the newest wins, also over the holiday package.
    Limits computed from now on use it; limits already computed keep their instant. A day
    outside the year, listed twice, or a weekday as an adjusted working day is a 422."""
    days = tuple(CalendarDay(d.day, DayKind(d.kind), d.name) for d in body.days)
    published = await calendar.publish(rt, actor, CalendarYear(year, days, body.source))
    y = published.year
    return YearOut(
        year=year,
        known=True,
        source=y.source,
        days=[DayIO(day=d.day, kind=d.kind, name=d.name) for d in sorted(y.days, key=_day)],
        versions=[_version(p) for p in await calendar.versions(rt, year)],
    )


def _day(d: CalendarDay) -> date:
    return d.day
