"""The one-time missed-limit flags of `whistles`, and the scan that finds the whistles which
may need one, under this database's scan lock."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
from cobuild_contracts.events.escalations import Level, TimeLimit

from cobuild_escalations.domain.whistle import Whistle
from cobuild_escalations.store.whistles import COLUMNS, from_row

_SCAN_LOCK = 0x0C0B_E5C1  # this database's escalation scanner
_FLAG = {TimeLimit.RESPOND: "response_missed_at", TimeLimit.RESOLVE: "resolution_missed_at"}


async def try_scan_lock(conn: asyncpg.Connection) -> bool:
    """The scan's transaction-scoped advisory lock: one replica scans at a time."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _SCAN_LOCK))


async def flag(
    conn: asyncpg.Connection, whistle_id: UUID, limit: TimeLimit, at: datetime, level: Level
) -> bool:
    """Raise the missed flag of `limit` and the level; True only for the one caller that
    actually raised it (the flag is set once, whatever restarts in between)."""
    column = _FLAG[limit]
    status = await conn.execute(
        f"""UPDATE whistles SET {column} = $2, level = $3, updated_at = now()
            WHERE whistle_id = $1 AND {column} IS NULL""",
        whistle_id,
        at,
        level.value,
    )
    return bool(status == "UPDATE 1")


async def candidates(conn: asyncpg.Connection, now: datetime, limit: int) -> list[Whistle]:
    """Whistles with a limit past and not flagged, locked for this scan. A prefilter: the
    domain decides."""
    rows = await conn.fetch(
        f"""SELECT {COLUMNS} FROM whistles
            WHERE (response_missed_at IS NULL AND state = 'routed' AND respond_by < $1)
               OR (resolution_missed_at IS NULL AND state <> 'closed' AND resolve_by < $1)
            ORDER BY least(respond_by, resolve_by), whistle_id
            LIMIT $2 FOR UPDATE SKIP LOCKED""",
        now,
        limit,
    )
    return [from_row(r) for r in rows]
