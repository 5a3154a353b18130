"""`member_score`: each member-year's latest year-end score, for the named honour roll."""

from __future__ import annotations

from uuid import UUID

import asyncpg
from cobuild_contracts.events.evaluation import MemberScored

from cobuild_points.store.paging import Slice, fetch_slice


async def record(conn: asyncpg.Connection, event: MemberScored) -> None:
    """The latest assessment of a member-year wins."""
    await conn.execute(
        """INSERT INTO member_score (member_id, year, assessment_id, policy_version, community_id,
               unit_id, score, grade, rank_in_community)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (member_id, year) DO UPDATE SET assessment_id = EXCLUDED.assessment_id,
               policy_version = EXCLUDED.policy_version, community_id = EXCLUDED.community_id,
               unit_id = EXCLUDED.unit_id, score = EXCLUDED.score, grade = EXCLUDED.grade,
               rank_in_community = EXCLUDED.rank_in_community""",
        event.member_id,
        event.year,
        event.assessment_id,
        event.policy_version,
        event.community_id,
        event.unit_id,
        event.score,
        event.grade.value,
        event.rank_in_community,
    )


async def honour_roll(
    conn: asyncpg.Connection, community_id: UUID, year: int, grade: str, *, limit: int, offset: int
) -> Slice:
    """The community's members scored at `grade` in `year`, best first, with their names."""
    return await fetch_slice(
        conn,
        """SELECT s.rank_in_community, s.score, s.grade, m.name, m.show_full_name,
                  count(*) OVER () AS total_rows
           FROM member_score s JOIN member m USING (member_id)
           WHERE s.community_id = $1 AND s.year = $2 AND s.grade = $3
           ORDER BY s.rank_in_community, s.score DESC, s.member_id""",
        community_id,
        year,
        grade,
        limit=limit,
        offset=offset,
    )
