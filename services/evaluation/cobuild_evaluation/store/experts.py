"""The expert directory and experts' assignments to commitments and agreements."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


async def add(
    conn: asyncpg.Connection,
    expert_id: UUID,
    name: str,
    field: str,
    at: datetime,
    subject: str | None = None,
) -> bool:
    """False if the id is taken."""
    inserted = await conn.fetchval(
        """INSERT INTO experts (expert_id, name, field, created_at, subject)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT DO NOTHING RETURNING 1""",
        expert_id,
        name,
        field,
        at,
        subject,
    )
    return inserted is not None


async def directory(
    conn: asyncpg.Connection, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    """A page of the experts (expert_id, name, field), by name, and how many there are."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT expert_id, name, field FROM experts ORDER BY name, expert_id
           LIMIT $1 OFFSET $2""",
        limit,
        offset,
    )
    total: int = await conn.fetchval("SELECT count(*) FROM experts")
    return rows, total


async def assignments_of(
    conn: asyncpg.Connection, expert_id: UUID, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    """A page of an expert's assignments, oldest first, and how many there are."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT assignment_id, expert_id, subject_kind, subject_id, criteria, assigned_at,
                  evaluated_at
           FROM expert_assignments WHERE expert_id = $1
           ORDER BY assigned_at, assignment_id LIMIT $2 OFFSET $3""",
        expert_id,
        limit,
        offset,
    )
    total: int = await conn.fetchval(
        "SELECT count(*) FROM expert_assignments WHERE expert_id = $1", expert_id
    )
    return rows, total


async def exists(conn: asyncpg.Connection, expert_id: UUID) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM experts WHERE expert_id = $1", expert_id))


async def assign(
    conn: asyncpg.Connection,
    *,
    assignment_id: UUID,
    expert_id: UUID,
    subject_kind: str,
    subject_id: UUID,
    criteria: list[str],
    assigned_by: str,
    at: datetime,
) -> bool:
    """False if the expert is already assigned to the subject."""
    inserted = await conn.fetchval(
        """INSERT INTO expert_assignments (assignment_id, expert_id, subject_kind, subject_id,
               criteria, assigned_by, assigned_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING 1""",
        assignment_id,
        expert_id,
        subject_kind,
        subject_id,
        criteria,
        assigned_by,
        at,
    )
    return inserted is not None


async def lock_assignment(
    conn: asyncpg.Connection, expert_id: UUID, subject_kind: str, subject_id: UUID
) -> asyncpg.Record | None:
    """The assignment's assignment_id, criteria and evaluated_at, locked."""
    return await conn.fetchrow(
        """SELECT assignment_id, criteria, evaluated_at FROM expert_assignments
           WHERE expert_id = $1 AND subject_kind = $2 AND subject_id = $3 FOR UPDATE""",
        expert_id,
        subject_kind,
        subject_id,
    )


async def mark_evaluated(conn: asyncpg.Connection, assignment_id: UUID, at: datetime) -> None:
    await conn.execute(
        "UPDATE expert_assignments SET evaluated_at = $2 WHERE assignment_id = $1",
        assignment_id,
        at,
    )
