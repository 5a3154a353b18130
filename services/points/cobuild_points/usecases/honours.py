"""The member honour roll: year-end scores from the evaluation service, shown by points
because names live only here (ARCHITECTURE.md, "Personal data")."""

from __future__ import annotations

from uuid import UUID

import asyncpg
from cobuild_contracts import Grade
from cobuild_contracts.events.evaluation import MemberScored

from cobuild_points.settings import PointsRuntime
from cobuild_points.store import scores
from cobuild_points.store.paging import Slice


async def record_score(conn: asyncpg.Connection, event: MemberScored) -> None:
    """The latest assessment of a member-year wins (events are keyed by member, so ordered)."""
    await scores.record(conn, event)


async def honour_roll(
    rt: PointsRuntime, community_id: UUID, year: int, grade: Grade, *, limit: int, offset: int
) -> Slice:
    """Members of the community scored at `grade` in `year`, best first, with their names
    and whether they opted in to show the full name."""
    async with rt.pool.acquire() as conn:
        return await scores.honour_roll(
            conn, community_id, year, grade.value, limit=limit, offset=offset
        )
