"""The member honour roll: year-end scores from the evaluation service, shown by points
because names live only here (ARCHITECTURE.md, "Personal data")."""

from __future__ import annotations

from uuid import UUID

import asyncpg
from cobuild_contracts import Grade
from cobuild_contracts.events.evaluation import MemberScored
from cobuild_kit.errors import Invalid
from cobuild_kit.logging import get_logger

from cobuild_points.settings import PointsRuntime
from cobuild_points.store import scores
from cobuild_points.store.paging import Slice

log = get_logger(__name__)


async def record_score(conn: asyncpg.Connection, event: MemberScored) -> None:
    """The latest assessment of a member-year wins (events are keyed by member, so ordered)."""
    await scores.record(conn, event)


async def honour_roll(
    rt: PointsRuntime, community_id: UUID, year: int, grade: Grade, *, limit: int, offset: int
) -> Slice:
    """Members of the community scored at `grade` in `year`, best first, with their names
    and whether they opted in to show the full name. Only the grades the policy honours
    (setting `honour_roll_grades`) are served: another is a 422 naming `query.grade`."""
    honoured = rt.settings.honour_roll_grades
    if grade not in honoured:
        log.info("honour_roll.refused", grade=grade.value, community_id=str(community_id))
        shown = ", ".join(g.value for g in honoured)
        raise Invalid(f"the honour roll shows only: {shown}", field="query.grade")
    async with rt.pool.acquire() as conn:
        return await scores.honour_roll(
            conn, community_id, year, grade.value, limit=limit, offset=offset
        )
