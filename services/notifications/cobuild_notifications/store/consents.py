"""WeChat subscription-message consents (订阅消息): each consent a person gives allows one
message. A message takes one in the send's transaction (given back if the send fails)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

# More consents than anyone will use: a bound on what one person can pile up.
MAX_BALANCE = 1000


async def grant(conn: asyncpg.Connection, subject: str, at: datetime) -> int | None:
    """One more consent; the balance, or None when it is full."""
    value = await conn.fetchval(
        """INSERT INTO wechat_consents (subject, balance, granted, updated_at)
           VALUES ($1, 1, 1, $2)
           ON CONFLICT (subject) DO UPDATE SET balance = wechat_consents.balance + 1,
               granted = wechat_consents.granted + 1, updated_at = EXCLUDED.updated_at
           WHERE wechat_consents.balance < $3
           RETURNING balance""",
        subject, at, MAX_BALANCE,
    )  # fmt: skip
    return int(value) if value is not None else None


async def balance(conn: asyncpg.Connection, subject: str) -> int:
    value = await conn.fetchval("SELECT balance FROM wechat_consents WHERE subject = $1", subject)
    return int(value or 0)


async def use(conn: asyncpg.Connection, subject: str, at: datetime) -> bool:
    """Take one consent; False when the person has none left (the row is locked until the
    send's transaction ends, so two senders cannot spend the same one)."""
    value = await conn.fetchval(
        """UPDATE wechat_consents SET balance = balance - 1, used = used + 1, updated_at = $2
           WHERE subject = $1 AND balance > 0 RETURNING balance""",
        subject, at,
    )  # fmt: skip
    return value is not None


async def give_back(conn: asyncpg.Connection, subject: str) -> None:
    """The send failed: the consent taken for it is the person's again."""
    await conn.execute(
        "UPDATE wechat_consents SET balance = balance + 1, used = used - 1 WHERE subject = $1",
        subject,
    )
