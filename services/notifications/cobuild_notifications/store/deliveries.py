"""The deliveries the sender works from: one per (notification, channel), claimed with
SKIP LOCKED inside the transaction that marks them, so two senders never take the same row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import asyncpg

from cobuild_notifications.domain.kinds import Channel


@dataclass(frozen=True)
class Delivery:
    delivery_id: UUID
    notification_id: UUID
    subject: str
    channel: Channel
    address: str
    digest: bool
    due_at: datetime
    attempts: int


def _of(row: asyncpg.Record) -> Delivery:
    return Delivery(
        delivery_id=row["delivery_id"], notification_id=row["notification_id"],
        subject=row["subject"], channel=Channel(row["channel"]), address=row["address"],
        digest=row["digest"], due_at=row["due_at"], attempts=row["attempts"],
    )  # fmt: skip


async def add(conn: asyncpg.Connection, d: Delivery) -> None:
    await conn.execute(
        """INSERT INTO deliveries (delivery_id, notification_id, subject, channel, address,
               digest, due_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (notification_id, channel) DO NOTHING""",
        d.delivery_id, d.notification_id, d.subject, d.channel.value, d.address, d.digest,
        d.due_at,
    )  # fmt: skip


async def claim(
    conn: asyncpg.Connection, business_now: datetime, wall_now: datetime
) -> list[Delivery]:
    """The next due delivery, locked, with (for a digest) the same person's other due digest
    rows of that channel: one message goes for them all. Empty when nothing is due."""
    row = await conn.fetchrow(
        """SELECT * FROM deliveries
           WHERE status = 'pending' AND due_at <= $1 AND (not_before IS NULL OR not_before <= $2)
           ORDER BY due_at, delivery_id LIMIT 1 FOR UPDATE SKIP LOCKED""",
        business_now, wall_now,
    )  # fmt: skip
    if row is None:
        return []
    first = _of(row)
    if not first.digest:
        return [first]
    rest = await conn.fetch(
        """SELECT * FROM deliveries
           WHERE status = 'pending' AND digest AND subject = $1 AND channel = $2
             AND due_at <= $3 AND delivery_id <> $4
           ORDER BY due_at, delivery_id FOR UPDATE SKIP LOCKED""",
        first.subject, first.channel.value, business_now, first.delivery_id,
    )  # fmt: skip
    return [first, *(_of(r) for r in rest)]


async def sent(conn: asyncpg.Connection, ids: list[UUID], message_id: str, at: datetime) -> None:
    await conn.execute(
        """UPDATE deliveries SET status = 'sent', sent_at = $2, message_id = $3,
               attempts = attempts + 1, last_error = NULL
           WHERE delivery_id = ANY($1::uuid[])""",
        ids, at, message_id,
    )  # fmt: skip


async def retry(
    conn: asyncpg.Connection, ids: list[UUID], error: str, not_before: datetime
) -> None:
    await conn.execute(
        """UPDATE deliveries SET attempts = attempts + 1, last_error = $2, not_before = $3
           WHERE delivery_id = ANY($1::uuid[])""",
        ids, error[:1000], not_before,
    )  # fmt: skip


async def failed(conn: asyncpg.Connection, ids: list[UUID], error: str) -> None:
    await conn.execute(
        """UPDATE deliveries SET status = 'failed', attempts = attempts + 1, last_error = $2
           WHERE delivery_id = ANY($1::uuid[])""",
        ids, error[:1000],
    )  # fmt: skip


async def postpone(conn: asyncpg.Connection, ids: list[UUID], due_at: datetime) -> None:
    """Not sent yet, not a failure: a rate limit reached; it goes when the day turns."""
    await conn.execute(
        "UPDATE deliveries SET due_at = $2 WHERE delivery_id = ANY($1::uuid[])", ids, due_at
    )


async def skipped(conn: asyncpg.Connection, ids: list[UUID], why: str) -> None:
    """Not attempted, and why (no consent left; a digest item withdrawn since): recorded,
    never dropped silently."""
    await conn.execute(
        "UPDATE deliveries SET status = 'skipped', last_error = $2 WHERE delivery_id = ANY($1::uuid[])",
        ids, why[:1000],
    )  # fmt: skip


async def reserve(
    conn: asyncpg.Connection, channel: Channel, address: str, day: date, cap: int
) -> bool:
    """Count one message to `address` on `day`, unless `cap` are counted already. The count's
    row stays locked until the send's transaction ends: a second sender to the same address
    waits and then sees this one's count, so two cannot both pass the cap."""
    value = await conn.fetchval(
        """INSERT INTO channel_counts (channel, address, day, sent) VALUES ($1, $2, $3, 1)
           ON CONFLICT (channel, address, day) DO UPDATE SET sent = channel_counts.sent + 1
           WHERE channel_counts.sent < $4
           RETURNING sent""",
        channel.value, address, day, cap,
    )  # fmt: skip
    return value is not None


async def release(conn: asyncpg.Connection, channel: Channel, address: str, day: date) -> None:
    """The send failed: it does not count."""
    await conn.execute(
        """UPDATE channel_counts SET sent = sent - 1
           WHERE channel = $1 AND address = $2 AND day = $3""",
        channel.value, address, day,
    )  # fmt: skip


async def totals(conn: asyncpg.Connection) -> dict[str, int]:
    rows = await conn.fetch("SELECT status, count(*) AS n FROM deliveries GROUP BY status")
    return {r["status"]: int(r["n"]) for r in rows}
