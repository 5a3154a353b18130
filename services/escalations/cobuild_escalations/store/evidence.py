"""Evidence rows, table `evidence`: what was uploaded to which whistle, for which party, by
content hash."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from cobuild_escalations.domain.evidence import Evidence


async def insert_evidence(conn: asyncpg.Connection, e: Evidence) -> None:
    await conn.execute(
        """INSERT INTO evidence (evidence_id, whistle_id, party_id, sha256, content_type,
                                 size_bytes, filename, uploaded_by, uploaded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        e.evidence_id,
        e.whistle_id,
        e.party_id,
        e.sha256,
        e.content_type,
        e.size_bytes,
        e.filename,
        e.uploaded_by,
        e.uploaded_at,
    )


async def evidence_of(
    conn: asyncpg.Connection, whistle_id: UUID, *, limit: int, offset: int
) -> tuple[list[Evidence], int]:
    """One page of the commitment's evidence, oldest first, and how many files it has."""
    rows = await conn.fetch(
        """SELECT * FROM evidence WHERE whistle_id = $1
           ORDER BY uploaded_at, evidence_id LIMIT $2 OFFSET $3""",
        whistle_id,
        limit,
        offset,
    )
    total = await conn.fetchval("SELECT count(*) FROM evidence WHERE whistle_id = $1", whistle_id)
    return [Evidence(**dict(r)) for r in rows], int(total)


async def evidence_by_id(conn: asyncpg.Connection, evidence_id: UUID) -> Evidence | None:
    row = await conn.fetchrow("SELECT * FROM evidence WHERE evidence_id = $1", evidence_id)
    return Evidence(**dict(row)) if row else None


async def sha_in_use(conn: asyncpg.Connection, sha256: str) -> bool:
    return bool(
        await conn.fetchval("SELECT EXISTS (SELECT 1 FROM evidence WHERE sha256 = $1)", sha256)
    )


async def of_party(
    conn: asyncpg.Connection, whistle_id: UUID, party_id: UUID, ids: list[UUID]
) -> set[UUID]:
    """Which of `ids` are files of this whistle uploaded for `party_id`."""
    rows = await conn.fetch(
        """SELECT evidence_id FROM evidence
           WHERE whistle_id = $1 AND party_id = $2 AND evidence_id = ANY($3::uuid[])""",
        whistle_id,
        party_id,
        ids,
    )
    return {r["evidence_id"] for r in rows}
