"""The authoritative `party` table, kept in step with the kit's `party_directory` read model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from cobuild_contracts import PartyKind, PartyRegistered, PartyUpdated, UnitType
from cobuild_kit.errors import NotFound
from cobuild_kit.parties import apply_party
from cobuild_kit.service import UnitOfWork


@dataclass(frozen=True)
class Party:
    party_id: UUID
    kind: PartyKind
    name: str
    parent_id: UUID | None
    unit_type: UnitType | None
    code: str | None
    paired_community_ids: tuple[UUID, ...]
    active: bool
    version: int

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Party:
        return cls(
            party_id=row["party_id"],
            kind=PartyKind(row["kind"]),
            name=row["name"],
            parent_id=row["parent_id"],
            unit_type=UnitType(row["unit_type"]) if row["unit_type"] else None,
            code=row["code"],
            paired_community_ids=tuple(row["paired_community_ids"]),
            active=row["active"],
            version=row["version"],
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "party_id": self.party_id,
            "kind": self.kind,
            "name": self.name,
            "parent_id": self.parent_id,
            "unit_type": self.unit_type,
            "code": self.code,
            "paired_community_ids": list(self.paired_community_ids),
            "active": self.active,
            "version": self.version,
        }

    def public(self) -> dict[str, Any]:
        out = self.snapshot()
        out["kind"] = self.kind.value
        out["unit_type"] = self.unit_type.value if self.unit_type else None
        return out


async def get(conn: asyncpg.Connection, party_id: UUID, *, lock: bool = False) -> Party | None:
    sql = "SELECT * FROM party WHERE party_id = $1" + (" FOR UPDATE" if lock else "")
    row = await conn.fetchrow(sql, party_id)
    return Party.from_row(row) if row else None


async def require(
    conn: asyncpg.Connection, party_id: UUID, *, lock: bool = False, field: str | None = None
) -> Party:
    party = await get(conn, party_id, lock=lock)
    if party is None:
        raise NotFound(f"party {party_id} is not registered", field=field)
    return party


async def by_code(conn: asyncpg.Connection, code: str) -> Party | None:
    row = await conn.fetchrow("SELECT * FROM party WHERE code = $1", code)
    return Party.from_row(row) if row else None


async def lineage(conn: asyncpg.Connection, party_id: UUID) -> list[Party]:
    """The party and its ancestors along parent links, nearest first."""
    rows = await conn.fetch(
        """WITH RECURSIVE up AS (
               SELECT p.*, 0 AS depth FROM party p WHERE p.party_id = $1
               UNION ALL
               SELECT p.*, up.depth + 1 FROM party p JOIN up ON p.party_id = up.parent_id
           ) SELECT * FROM up ORDER BY depth""",
        party_id,
    )
    return [Party.from_row(r) for r in rows]


async def listing(
    conn: asyncpg.Connection, *, parent_id: UUID | None, kind: PartyKind | None, limit: int
) -> list[Party]:
    rows = await conn.fetch(
        """SELECT * FROM party
           WHERE ($1::uuid IS NULL OR parent_id = $1) AND ($2::text IS NULL OR kind = $2)
           ORDER BY kind, name LIMIT $3""",
        parent_id,
        kind.value if kind else None,
        limit,
    )
    return [Party.from_row(r) for r in rows]


async def code_taken(conn: asyncpg.Connection, code: str, other_than: UUID | None = None) -> bool:
    found = await conn.fetchval(
        "SELECT 1 FROM party WHERE code = $1 AND ($2::uuid IS NULL OR party_id <> $2)",
        code,
        other_than,
    )
    return found is not None


async def save(uow: UnitOfWork, party: Party, now: datetime) -> PartyRegistered | PartyUpdated:
    """Insert (version 1) or update a party, mirror it in the directory, emit its snapshot."""
    first = party.version == 1
    if first:
        await uow.conn.execute(
            """INSERT INTO party (party_id, kind, name, parent_id, unit_type, code,
                   paired_community_ids, active, version, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)""",
            *_columns(party),
            now,
        )
    else:
        await uow.conn.execute(
            """UPDATE party SET kind = $2, name = $3, parent_id = $4, unit_type = $5, code = $6,
                   paired_community_ids = $7, active = $8, version = $9, updated_at = $10
               WHERE party_id = $1""",
            *_columns(party),
            now,
        )
    cls = PartyRegistered if first else PartyUpdated
    fields = party.snapshot()
    fields.pop("code")
    event = cls(**fields, code=party.code)
    await apply_party(uow.conn, event)
    await uow.emit(event)
    return event


def _columns(p: Party) -> tuple[Any, ...]:
    return (
        p.party_id,
        p.kind.value,
        p.name,
        p.parent_id,
        p.unit_type.value if p.unit_type else None,
        p.code,
        list(p.paired_community_ids),
        p.active,
        p.version,
    )
