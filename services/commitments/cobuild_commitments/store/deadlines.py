"""The deadline columns of `commitments`: the one-time overdue and reminder flags, and the scan
that finds the commitments which may need one, under this database's scan lock."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import asyncpg

from cobuild_commitments.domain.commitment import Commitment
from cobuild_commitments.store.commitments import COLUMNS, from_row

_SCAN_LOCK = 0x0C0B_4D01  # this database's deadlines scanner


async def try_scan_lock(conn: asyncpg.Connection) -> bool:
    """The scan's transaction-scoped advisory lock: one replica scans at a time."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _SCAN_LOCK))


async def flag_overdue(conn: asyncpg.Connection, commitment_id: UUID, at: datetime) -> bool:
    """Raise the overdue flag; True only for the one caller that actually raised it."""
    status = await conn.execute(
        "UPDATE commitments SET overdue_at = $2, updated_at = now() "
        "WHERE commitment_id = $1 AND overdue_at IS NULL",
        commitment_id,
        at,
    )
    return bool(status == "UPDATE 1")


async def flag_reminded(conn: asyncpg.Connection, commitment_id: UUID, at: datetime) -> bool:
    status = await conn.execute(
        "UPDATE commitments SET reminded_at = $2, updated_at = now() "
        "WHERE commitment_id = $1 AND reminded_at IS NULL",
        commitment_id,
        at,
    )
    return bool(status == "UPDATE 1")


async def deadline_candidates(
    conn: asyncpg.Connection, today: date, horizon: date, limit: int
) -> list[Commitment]:
    """Commitments that may need a reminder (due by `horizon`) or the overdue flag (past
    their deadline), locked for this scan. A prefilter: the domain makes the decision."""
    rows = await conn.fetch(
        f"""SELECT {COLUMNS} FROM commitments
            WHERE (reminded_at IS NULL AND deadline <= $2
                   AND status IN ('opened', 'claimed', 'in_progress'))
               OR (overdue_at IS NULL AND deadline < $1
                   AND (status IN ('opened', 'claimed', 'in_progress')
                        OR (status = 'done_pending_confirmation'
                            AND (done_at AT TIME ZONE 'Asia/Shanghai')::date > deadline)))
            ORDER BY deadline, commitment_id LIMIT $3 FOR UPDATE SKIP LOCKED""",
        today,
        horizon,
        limit,
    )
    return [from_row(r) for r in rows]
