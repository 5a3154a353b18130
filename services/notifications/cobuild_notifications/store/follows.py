"""Who follows a need, an agreement or a commitment."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

import asyncpg


async def follow(conn: asyncpg.Connection, subject: str, kind: str, target: UUID,
                 at: datetime) -> bool:  # fmt: skip
    status = await conn.execute(
        """INSERT INTO follows (subject, target_kind, target_id, since) VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING""",
        subject, kind, target, at,
    )  # fmt: skip
    return bool(status.endswith(" 1"))


async def unfollow(conn: asyncpg.Connection, subject: str, kind: str, target: UUID) -> bool:
    status = await conn.execute(
        "DELETE FROM follows WHERE subject = $1 AND target_kind = $2 AND target_id = $3",
        subject, kind, target,
    )  # fmt: skip
    return bool(status.endswith(" 1"))


async def is_following(conn: asyncpg.Connection, subject: str, kind: str, target: UUID) -> bool:
    """Whether this person follows this thing (the workbench's button shows it)."""
    return bool(
        await conn.fetchval(
            """SELECT EXISTS (SELECT 1 FROM follows
                              WHERE subject = $1 AND target_kind = $2 AND target_id = $3)""",
            subject,
            kind,
            target,
        )
    )


async def followers(conn: asyncpg.Connection, targets: Iterable[tuple[str, UUID]]) -> list[str]:
    pairs = list(targets)
    if not pairs:
        return []
    rows = await conn.fetch(
        """SELECT DISTINCT f.subject FROM follows f
           JOIN unnest($1::text[], $2::uuid[]) AS t(kind, id)
             ON f.target_kind = t.kind AND f.target_id = t.id ORDER BY f.subject""",
        [k for k, _ in pairs], [i for _, i in pairs],
    )  # fmt: skip
    return [r["subject"] for r in rows]


async def of_subject(conn: asyncpg.Connection, subject: str) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            """SELECT target_kind, target_id, since FROM follows WHERE subject = $1
               ORDER BY since DESC""",
            subject,
        )
    )
