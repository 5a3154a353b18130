"""SQL of the audit (append-only: the table's trigger refuses UPDATE and DELETE) and of the
sign-in marks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from cobuild_access.domain.audit import AuditEntry

_COLUMNS = """audit_id, at, recorded_at, kind, outcome, actor, actor_role, actor_party, subject,
    role, party_id, grant_id, invitation_id, detail, extra"""


async def append(conn: asyncpg.Connection, entry: AuditEntry) -> None:
    await conn.execute(
        """INSERT INTO audit (at, kind, outcome, actor, actor_role, actor_party, subject, role,
               party_id, grant_id, invitation_id, detail, extra)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb)""",
        entry.at,
        entry.kind.value,
        entry.outcome.value,
        entry.actor,
        entry.actor_role,
        entry.actor_party,
        entry.subject,
        entry.role,
        entry.party_id,
        entry.grant_id,
        entry.invitation_id,
        entry.detail,
        json.dumps(entry.extra, ensure_ascii=False),
    )


@dataclass(frozen=True)
class AuditFilter:
    """Every field optional; `parties` None means every party (the operator)."""

    parties: list[UUID] | None = None
    kind: str | None = None
    actor: str | None = None
    subject: str | None = None
    party_id: UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
    outcome: str | None = None


_WHERE = """($1::uuid[] IS NULL OR party_id = ANY($1) OR actor_party = ANY($1))
    AND ($2::text IS NULL OR kind = $2)
    AND ($3::text IS NULL OR actor = $3)
    AND ($4::text IS NULL OR subject = $4)
    AND ($5::uuid IS NULL OR party_id = $5)
    AND ($6::timestamptz IS NULL OR at >= $6)
    AND ($7::timestamptz IS NULL OR at < $7)
    AND ($8::text IS NULL OR outcome = $8)"""


def _args(f: AuditFilter) -> tuple[object, ...]:
    return (f.parties, f.kind, f.actor, f.subject, f.party_id, f.since, f.until, f.outcome)


async def page(
    conn: asyncpg.Connection, f: AuditFilter, *, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM audit WHERE {_WHERE} ORDER BY audit_id DESC LIMIT $9 OFFSET $10",
        *_args(f),
        limit,
        offset,
    )
    total = await conn.fetchval(f"SELECT count(*) FROM audit WHERE {_WHERE}", *_args(f))
    return rows, int(total)


async def batches(
    conn: asyncpg.Connection, f: AuditFilter, size: int = 1000
) -> AsyncIterator[list[asyncpg.Record]]:
    """Every matching record, oldest first, in batches (for the CSV export)."""
    after = 0
    while True:
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM audit WHERE {_WHERE} AND audit_id > $9"
            " ORDER BY audit_id LIMIT $10",
            *_args(f),
            after,
            size,
        )
        if not rows:
            return
        yield rows
        after = rows[-1]["audit_id"]


async def mark_sign_in(
    conn: asyncpg.Connection, subject: str, session: str, acting: str, at: datetime
) -> bool:
    """True the first time this provider session acts as `acting` (role and party)."""
    row = await conn.fetchrow(
        """INSERT INTO sign_ins (subject, session, acting, at) VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING RETURNING subject""",
        subject,
        session,
        acting,
        at,
    )
    return row is not None


async def forget_sign_ins(conn: asyncpg.Connection, before: datetime) -> None:
    await conn.execute("DELETE FROM sign_ins WHERE at < $1", before)
