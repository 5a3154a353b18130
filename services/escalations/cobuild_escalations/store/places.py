"""The parties directory (`party_directory`, kept by the kit's parties consumer from the
agreements service's party events) as the whistles need it: a place and the hierarchy above
it, and whether a party is a department (a unit of type government office)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class Party:
    party_id: UUID
    kind: str
    name: str
    parent_id: UUID | None
    unit_type: str | None
    active: bool


async def party(conn: asyncpg.Connection, party_id: UUID) -> Party | None:
    row = await conn.fetchrow(
        """SELECT party_id, kind, name, parent_id, unit_type, active FROM party_directory
           WHERE party_id = $1""",
        party_id,
    )
    return Party(**dict(row)) if row else None


async def chain(conn: asyncpg.Connection, party_id: UUID) -> list[Party]:
    """The party and its parents, nearest first (a grid, its community, street, district)."""
    rows = await conn.fetch(
        """WITH RECURSIVE up(party_id, depth) AS (
               SELECT $1::uuid, 0
               UNION ALL
               SELECT p.parent_id, up.depth + 1 FROM party_directory p JOIN up USING (party_id)
               WHERE p.parent_id IS NOT NULL AND up.depth < 8
           )
           SELECT d.party_id, d.kind, d.name, d.parent_id, d.unit_type, d.active
           FROM up JOIN party_directory d USING (party_id) ORDER BY up.depth""",
        party_id,
    )
    return [Party(**dict(r)) for r in rows]


async def names(conn: asyncpg.Connection, ids: list[UUID]) -> dict[UUID, str]:
    rows = await conn.fetch(
        "SELECT party_id, name FROM party_directory WHERE party_id = ANY($1::uuid[])", ids
    )
    return {r["party_id"]: r["name"] for r in rows}
