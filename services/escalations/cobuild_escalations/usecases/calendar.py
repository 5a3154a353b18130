"""The working calendar time limits are counted on (`cobuild_kit.working_time`): which years it
knows and from where, a year's days, and an admin's publication of a year (when the State
Council publishes next year's holidays and adjusted working days, before the holiday package
ships them). A publication applies to limits computed from then on; a limit already computed
keeps its instant, and says whether it was provisional."""

from __future__ import annotations

from cobuild_contracts import Role
from cobuild_kit import working_calendar
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Forbidden, Invalid
from cobuild_kit.working_calendar import PublishedYear
from cobuild_kit.working_time import (
    CalendarRuleError,
    CalendarYear,
    WorkingCalendar,
    official_calendar,
)

from cobuild_escalations.settings import EscalationsRuntime

# The calendar is the country's, not a party's: the operators and the district admins keep it.
PUBLISHERS = frozenset({Role.OPERATOR, Role.DISTRICT_ADMIN})


async def current(rt: EscalationsRuntime) -> tuple[WorkingCalendar, list[PublishedYear]]:
    async with rt.pool.acquire() as conn:
        published = await working_calendar.published_years(conn)
    return official_calendar(p.year for p in published), published


async def versions(rt: EscalationsRuntime, year: int) -> list[PublishedYear]:
    async with rt.pool.acquire() as conn:
        return await working_calendar.versions_of(conn, year)


async def publish(rt: EscalationsRuntime, actor: Actor, year: CalendarYear) -> PublishedYear:
    if actor.role not in PUBLISHERS:
        raise Forbidden(f"role {actor.role.value} may not publish the working calendar")
    try:
        year.check()
    except CalendarRuleError as exc:
        raise Invalid(str(exc), field=exc.field) from exc
    async with rt.unit_of_work() as uow:
        return await working_calendar.publish(uow.conn, year, by=actor.subject, at=rt.clock.now())
