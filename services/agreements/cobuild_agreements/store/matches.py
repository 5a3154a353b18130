"""Stored match suggestions: the latest ranking for each need and each resource."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from cobuild_agreements.domain.matching import Suggestion
from cobuild_agreements.store.paging import TOTAL, page

_UPSERT = """
INSERT INTO match_suggestion (need_id, resource_id, score, reasons, suggested_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (need_id, resource_id) DO UPDATE SET
    score = EXCLUDED.score, reasons = EXCLUDED.reasons, suggested_at = EXCLUDED.suggested_at
"""


async def replace_for_need(
    conn: asyncpg.Connection, need_id: UUID, found: Sequence[Suggestion], at: datetime
) -> None:
    await conn.execute("DELETE FROM match_suggestion WHERE need_id = $1", need_id)
    await _upsert(conn, found, at)


async def replace_for_resource(
    conn: asyncpg.Connection, resource_id: UUID, found: Sequence[Suggestion], at: datetime
) -> None:
    await conn.execute("DELETE FROM match_suggestion WHERE resource_id = $1", resource_id)
    await _upsert(conn, found, at)


async def _upsert(conn: asyncpg.Connection, found: Sequence[Suggestion], at: datetime) -> None:
    await conn.executemany(
        _UPSERT, [(s.need_id, s.resource_id, s.score, list(s.reasons), at) for s in found]
    )


async def for_need(
    conn: asyncpg.Connection, need_id: UUID, *, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    return await page(
        conn,
        f"""SELECT m.*, r.unit_id, r.title, r.category, r.kind, r.capacity, r.capacity_unit,
                   {TOTAL}
            FROM match_suggestion m JOIN resource r USING (resource_id)
            WHERE m.need_id = $1 AND r.status = 'offered'
            ORDER BY m.score DESC, m.resource_id""",
        need_id,
        limit=limit,
        offset=offset,
    )


async def for_resource(
    conn: asyncpg.Connection, resource_id: UUID, *, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    return await page(
        conn,
        f"""SELECT m.*, n.community_id, n.title, n.category, n.kind, n.quantity, n.quantity_unit,
                   {TOTAL}
            FROM match_suggestion m JOIN need n USING (need_id)
            WHERE m.resource_id = $1 AND n.status = 'published'
            ORDER BY m.score DESC, m.need_id""",
        resource_id,
        limit=limit,
        offset=offset,
    )
