"""Read-only queries for the supervisors' pages (street and district admins): the commitments
overdue as of a date within a set of communities or units, and the figures of each unit's
agreements within them (the league table and the community → unit drill-down).

Overdue as of D follows the ledger's arithmetic (domain/ledger.py): due (opened and its
deadline reached by D), neither fulfilled nor cancelled by D. So the list's length and sum
equal the scope's `overdue` and `overdue_fen` as of D."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import asyncpg

from cobuild_evaluation.domain.ledger import MEASURES, Figures
from cobuild_evaluation.store.ledger import _SUMS

# Through ledger_agreements (indexed by community and by unit) to each agreement's
# commitments (indexed by agreement): ledger_commitments has no index by community or unit
# since migration 0003, and every commitment's agreement is in ledger_agreements.
_OVERDUE = """
SELECT c.commitment_id, c.agreement_id, c.community_id, c.unit_id, c.deadline,
       c.committed_fen, count(*) OVER () AS total
FROM ledger_agreements a JOIN ledger_commitments c ON c.agreement_id = a.agreement_id
WHERE a.{col} = ANY($1::uuid[])
  AND ($3::uuid IS NULL OR a.community_id = $3)
  AND ($4::uuid IS NULL OR a.unit_id = $4)
  AND c.opened_on <= $2 AND GREATEST(c.opened_on, c.deadline) <= $2
  AND (c.fulfilled_on IS NULL OR c.fulfilled_on > $2)
  AND (c.cancelled_on IS NULL OR c.cancelled_on > $2)
ORDER BY c.deadline, c.commitment_id
LIMIT $5 OFFSET $6
"""


async def overdue(
    conn: asyncpg.Connection,
    kind: str,
    ids: list[UUID],
    as_of: date,
    *,
    community: UUID | None,
    unit: UUID | None,
    limit: int | None,
    offset: int,
) -> tuple[list[asyncpg.Record], int]:
    """A page of the commitments overdue as of `as_of` in the scopes `ids` of `kind`
    ("community" or "unit"), oldest deadline first, and how many there are in all."""
    col = "unit_id" if kind == "unit" else "community_id"
    sql = _OVERDUE.format(col=col)
    rows: list[asyncpg.Record] = await conn.fetch(sql, ids, as_of, community, unit, limit, offset)
    counted = rows
    if not rows and offset:  # past the end: the first row alone carries the count
        counted = await conn.fetch(sql, ids, as_of, community, unit, 1, 0)
    return rows, int(counted[0]["total"]) if counted else 0


# A party's agreements are those signed (agreements) and those its commitments name
# (ledger_agreements: they may arrive first), as in the ledger's drill-down.
_BY_AGREEMENT = f"""
WITH a AS (
  SELECT agreement_id, unit_id FROM agreements WHERE {{col}} = ANY($1::uuid[])
  UNION SELECT agreement_id, unit_id FROM ledger_agreements WHERE {{col}} = ANY($1::uuid[])
)
SELECT a.unit_id, a.agreement_id, f.*
FROM a CROSS JOIN LATERAL (SELECT {_SUMS} FROM ledger_daily d
     WHERE d.scope_kind = 'agreement' AND d.scope_id = a.agreement_id AND d.day <= $2) f
ORDER BY a.unit_id, a.agreement_id
"""


async def by_agreement(
    conn: asyncpg.Connection, kind: str, ids: list[UUID], as_of: date
) -> list[tuple[UUID, UUID, Figures]]:
    """(unit, agreement, figures) of every agreement in the scopes `ids` of `kind`."""
    col = "unit_id" if kind == "unit" else "community_id"
    rows = await conn.fetch(_BY_AGREEMENT.format(col=col), ids, as_of)
    return [
        (r["unit_id"], r["agreement_id"], Figures({m: int(r[m]) for m in MEASURES})) for r in rows
    ]
