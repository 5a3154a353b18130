"""The in-app inbox: one notification per (event, recipient)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

# A notification of the street's news whose need or resource has been withdrawn or claimed
# since is no longer shown (nor counted as unread).
_SHOWN = """(about_id IS NULL OR EXISTS (SELECT 1 FROM street_items s
                                     WHERE s.item_id = about_id AND s.open))"""


@dataclass(frozen=True)
class Stored:
    notification_id: UUID
    event_id: UUID
    subject: str
    kind: str
    params: dict[str, str]
    link: str
    created_at: datetime
    read_at: datetime | None
    about_kind: str | None = None  # a need or resource of the street's news
    about_id: UUID | None = None


def _of(row: asyncpg.Record) -> Stored:
    params: Any = row["params"]
    if isinstance(params, str):
        params = json.loads(params)
    return Stored(
        notification_id=row["notification_id"], event_id=row["event_id"],
        subject=row["subject"], kind=row["kind"], params=dict(params), link=row["link"],
        created_at=row["created_at"], read_at=row["read_at"], about_kind=row["about_kind"],
        about_id=row["about_id"],
    )  # fmt: skip


async def add(conn: asyncpg.Connection, n: Stored) -> bool:
    """False when this event already notified this person (a redelivery)."""
    status = await conn.execute(
        """INSERT INTO notifications (notification_id, event_id, subject, kind, params, link,
               created_at, about_kind, about_id)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9)
           ON CONFLICT (event_id, subject) DO NOTHING""",
        n.notification_id, n.event_id, n.subject, n.kind, json.dumps(n.params), n.link,
        n.created_at, n.about_kind, n.about_id,
    )  # fmt: skip
    return bool(status.endswith(" 1"))


async def page(
    conn: asyncpg.Connection, subject: str, *, unread_only: bool, limit: int, offset: int
) -> tuple[list[Stored], int]:
    rows = await conn.fetch(
        f"""SELECT *, count(*) OVER () AS total FROM notifications
            WHERE subject = $1 AND (NOT $2 OR read_at IS NULL) AND {_SHOWN}
            ORDER BY created_at DESC, notification_id DESC LIMIT $3 OFFSET $4""",
        subject, unread_only, limit, offset,
    )  # fmt: skip
    total = int(rows[0]["total"]) if rows else 0
    if not rows and offset:
        total = int(
            await conn.fetchval(
                "SELECT count(*) FROM notifications WHERE subject = $1"
                f" AND (NOT $2 OR read_at IS NULL) AND {_SHOWN}",
                subject,
                unread_only,
            )
        )
    return [_of(r) for r in rows], total


async def unread(conn: asyncpg.Connection, subject: str) -> int:
    return int(
        await conn.fetchval(
            f"SELECT count(*) FROM notifications WHERE subject = $1 AND read_at IS NULL AND {_SHOWN}",
            subject,
        )
    )


async def mark_read(
    conn: asyncpg.Connection, subject: str, notification_id: UUID, at: datetime
) -> bool:
    """False when the person has no such notification (someone else's is not theirs)."""
    status = await conn.execute(
        """UPDATE notifications SET read_at = coalesce(read_at, $3)
           WHERE subject = $1 AND notification_id = $2""",
        subject, notification_id, at,
    )  # fmt: skip
    return bool(status.endswith(" 1"))


async def mark_all_read(conn: asyncpg.Connection, subject: str, at: datetime) -> int:
    status = await conn.execute(
        "UPDATE notifications SET read_at = $2 WHERE subject = $1 AND read_at IS NULL",
        subject, at,
    )  # fmt: skip
    return int(status.split()[-1])


async def many(conn: asyncpg.Connection, ids: list[UUID]) -> dict[UUID, Stored]:
    rows = await conn.fetch(
        "SELECT * FROM notifications WHERE notification_id = ANY($1::uuid[])", ids
    )
    return {r["notification_id"]: _of(r) for r in rows}
