"""Each person's preferences and the contact addresses they entered (kept here only)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

import asyncpg

from cobuild_notifications.domain.kinds import Channel, Frequency, Kind
from cobuild_notifications.domain.preferences import DEFAULT_CHANNELS, Preferences

_ADDRESS_COLUMNS = {
    Channel.EMAIL: "email",
    Channel.SMS: "phone",
    Channel.WECOM: "wecom_id",
    Channel.DINGTALK: "dingtalk_id",
    Channel.WECHAT: "wechat_openid",
}


def _of(row: asyncpg.Record) -> Preferences:
    channels = row["channels"]
    if isinstance(channels, str):
        channels = json.loads(channels)
    return Preferences(
        subject=row["subject"],
        language=row["language"],
        addresses={c: row[col] for c, col in _ADDRESS_COLUMNS.items() if row[col]},
        frequency=Frequency(row["frequency"]),
        quiet_start=row["quiet_start"],
        quiet_end=row["quiet_end"],
        channels={k: tuple(Channel(c) for c in v) for k, v in channels.items()},
    )


async def load_many(conn: asyncpg.Connection, subjects: Iterable[str]) -> dict[str, Preferences]:
    """Everyone's preferences; a person who never set any gets the defaults (the inbox only,
    since no address is known)."""
    wanted = list(dict.fromkeys(subjects))
    rows = await conn.fetch("SELECT * FROM preferences WHERE subject = ANY($1::text[])", wanted)
    found = {r["subject"]: _of(r) for r in rows}
    return {s: found.get(s) or Preferences(subject=s) for s in wanted}


async def load(conn: asyncpg.Connection, subject: str) -> tuple[Preferences, str | None]:
    """The person's preferences and unsubscribe token (None before they saved any)."""
    row = await conn.fetchrow("SELECT * FROM preferences WHERE subject = $1", subject)
    if row is None:
        return Preferences(subject=subject), None
    return _of(row), row["unsubscribe_token"]


async def save(conn: asyncpg.Connection, p: Preferences, token: str, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO preferences (subject, language, email, phone, wecom_id, dingtalk_id,
               frequency, quiet_start, quiet_end, channels, unsubscribe_token, updated_at,
               wechat_openid)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13)
           ON CONFLICT (subject) DO UPDATE SET language = EXCLUDED.language,
               email = EXCLUDED.email, phone = EXCLUDED.phone, wecom_id = EXCLUDED.wecom_id,
               dingtalk_id = EXCLUDED.dingtalk_id, frequency = EXCLUDED.frequency,
               quiet_start = EXCLUDED.quiet_start, quiet_end = EXCLUDED.quiet_end,
               channels = EXCLUDED.channels, updated_at = EXCLUDED.updated_at,
               wechat_openid = EXCLUDED.wechat_openid""",
        p.subject, p.language, p.addresses.get(Channel.EMAIL), p.addresses.get(Channel.SMS),
        p.addresses.get(Channel.WECOM), p.addresses.get(Channel.DINGTALK), p.frequency.value,
        p.quiet_start, p.quiet_end,
        json.dumps({k: [c.value for c in v] for k, v in p.channels.items()}), token, at,
        p.addresses.get(Channel.WECHAT),
    )  # fmt: skip


async def unsubscribe(conn: asyncpg.Connection, token: str, at: datetime) -> bool:
    """Mail off for every kind, for the holder of `token` (the link in each mail)."""
    row = await conn.fetchrow("SELECT * FROM preferences WHERE unsubscribe_token = $1", token)
    if row is None:
        return False
    p = _of(row)
    without = {
        k.value: tuple(
            c for c in p.channels.get(k.value, DEFAULT_CHANNELS) if c is not Channel.EMAIL
        )
        for k in Kind
    }
    await conn.execute(
        "UPDATE preferences SET channels = $2::jsonb, updated_at = $3 WHERE subject = $1",
        p.subject, json.dumps({k: [c.value for c in v] for k, v in without.items()}), at,
    )  # fmt: skip
    return True


async def token_of(conn: asyncpg.Connection, subject: str) -> str | None:
    value = await conn.fetchval(
        "SELECT unsubscribe_token FROM preferences WHERE subject = $1", subject
    )
    return value if isinstance(value, str) else None


async def digesting(conn: asyncpg.Connection, subjects: Iterable[str]) -> list[str]:
    """Of `subjects`, those on a daily or weekly digest (who get the street's news)."""
    rows = await conn.fetch(
        """SELECT subject FROM preferences
           WHERE subject = ANY($1::text[]) AND frequency IN ('daily', 'weekly')
           ORDER BY subject""",
        list(dict.fromkeys(subjects)),
    )
    return [r["subject"] for r in rows]


async def anyone_digesting(conn: asyncpg.Connection) -> bool:
    value = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM preferences WHERE frequency IN ('daily', 'weekly'))"
    )
    return bool(value)
