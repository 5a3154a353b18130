"""Signed agreements as the agreements service announced them: their parties and terms
(agreement-level facts only; the ledger counts commitments from the commitments service)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

_SIGNED = """
INSERT INTO agreements (agreement_id, community_id, unit_id, street_id, district_id,
    term_start, term_end, origin, version, signed_on, signed_at)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::date[],
                     $7::date[], $8::text[], $9::int[], $10::date[], $11::timestamptz[])
ON CONFLICT (agreement_id) DO UPDATE SET version = EXCLUDED.version,
    term_start = EXCLUDED.term_start, term_end = EXCLUDED.term_end
WHERE agreements.version < EXCLUDED.version
"""


async def record_signed(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Upsert signings, at most one row per agreement (a statement cannot touch a row twice):
    (agreement, community, unit, street, district, term start, term end, origin, version,
    signed on, signed at); a newer version moves the version and term."""
    await conn.execute(_SIGNED, *(list(c) for c in zip(*rows, strict=True)))


async def parties_of_agreement(
    conn: asyncpg.Connection, agreement_id: UUID
) -> tuple[UUID, UUID] | None:
    """(community, unit) of a signed agreement, or of one its commitments name."""
    row = await conn.fetchrow(
        """SELECT community_id, unit_id FROM agreements WHERE agreement_id = $1
           UNION ALL SELECT community_id, unit_id FROM ledger_agreements WHERE agreement_id = $1
           LIMIT 1""",
        agreement_id,
    )
    return None if row is None else (row["community_id"], row["unit_id"])


async def signed_with(conn: asyncpg.Connection, communities: list[UUID]) -> list[asyncpg.Record]:
    """The communities' signed agreements, in signing order, with their number of commitments."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT a.agreement_id, a.community_id, a.unit_id, a.term_start, a.term_end,
                  (SELECT count(*) FROM ledger_commitments c WHERE c.agreement_id = a.agreement_id) AS n
           FROM agreements a WHERE a.community_id = ANY($1) ORDER BY a.signed_at, a.agreement_id""",
        communities,
    )
    return rows
