"""The experts' assignments read model (table `expert_assignments`), kept from the evaluation
service's expert.assigned: ids only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

# (assignment_id, expert_id, subject_kind, subject_id, assigned_at), in event order.
Assignment = tuple[UUID, UUID, str, UUID, datetime]


async def assigned_many(conn: asyncpg.Connection, assignments: Sequence[Assignment]) -> None:
    """A run of assignments in one statement; one already here changes nothing."""
    if not assignments:
        return
    ids, experts, kinds, subjects, ats = (list(c) for c in zip(*assignments, strict=True))
    await conn.execute(
        """INSERT INTO expert_assignments
               (assignment_id, expert_id, subject_kind, subject_id, assigned_at)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[],
                                $5::timestamptz[])
           ON CONFLICT DO NOTHING""",
        ids,
        experts,
        kinds,
        subjects,
        ats,
    )


async def is_assigned(conn: asyncpg.Connection, expert_id: UUID, commitment_id: UUID) -> bool:
    """Whether the expert is assigned to score the commitment."""
    return bool(
        await conn.fetchval(
            """SELECT 1 FROM expert_assignments WHERE expert_id = $1
               AND subject_kind = 'commitment' AND subject_id = $2""",
            expert_id,
            commitment_id,
        )
    )
