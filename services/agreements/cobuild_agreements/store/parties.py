"""The authoritative `party` table (the use case keeps the kit's `party_directory` in step),
and where a community or a unit sits, for the matcher."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from cobuild_contracts import PartyKind, UnitType
from cobuild_kit.errors import Conflict, Invalid, NotFound

from cobuild_agreements.domain.directory import Party
from cobuild_agreements.domain.matching import Place, UnitReach
from cobuild_agreements.store.paging import TOTAL, page

FieldName = Callable[[str], str]  # where a refusal points: a body field, or an import's column


def body_field(name: str) -> str:
    return f"body.{name}"


def _party(row: asyncpg.Record) -> Party:
    return Party(
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


async def get(conn: asyncpg.Connection, party_id: UUID, *, lock: bool = False) -> Party | None:
    sql = "SELECT * FROM party WHERE party_id = $1" + (" FOR UPDATE" if lock else "")
    row = await conn.fetchrow(sql, party_id)
    return _party(row) if row else None


async def require(
    conn: asyncpg.Connection, party_id: UUID, *, lock: bool = False, field: str | None = None
) -> Party:
    party = await get(conn, party_id, lock=lock)
    if party is None:
        raise NotFound(f"party {party_id} is not registered", field=field)
    return party


async def by_code(conn: asyncpg.Connection, code: str) -> Party | None:
    row = await conn.fetchrow("SELECT * FROM party WHERE code = $1", code)
    return _party(row) if row else None


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
    return [_party(r) for r in rows]


async def listing(
    conn: asyncpg.Connection,
    *,
    parent_id: UUID | None,
    kind: PartyKind | None,
    limit: int,
    offset: int,
) -> tuple[list[Party], int]:
    rows, total = await page(
        conn,
        f"""SELECT *, {TOTAL} FROM party
            WHERE ($1::uuid IS NULL OR parent_id = $1) AND ($2::text IS NULL OR kind = $2)
            ORDER BY kind, name, party_id""",
        parent_id,
        kind.value if kind else None,
        limit=limit,
        offset=offset,
    )
    return [_party(r) for r in rows], total


async def code_taken(conn: asyncpg.Connection, code: str, other_than: UUID | None = None) -> bool:
    found = await conn.fetchval(
        "SELECT 1 FROM party WHERE code = $1 AND ($2::uuid IS NULL OR party_id <> $2)",
        code,
        other_than,
    )
    return found is not None


async def save(
    conn: asyncpg.Connection, party: Party, now: datetime, field: FieldName = body_field
) -> None:
    """Insert a party at version 1, or update it to a later version. A concurrent command that
    registered the same id or took the same code first is a refusal, as when it was first
    seen before (409 naming `party_id`, 422 naming `code`), never a 500."""
    try:
        await _write(conn, party, now)
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "party_code_key":
            raise Invalid(
                f"code {party.code!r} is already used by another party", field=field("code")
            ) from None
        raise Conflict(
            f"party {party.party_id} is already registered", field=field("party_id")
        ) from None


async def _write(conn: asyncpg.Connection, party: Party, now: datetime) -> None:
    if party.version == 1:
        await conn.execute(
            """INSERT INTO party (party_id, kind, name, parent_id, unit_type, code,
                   paired_community_ids, active, version, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)""",
            *_columns(party),
            now,
        )
    else:
        await conn.execute(
            """UPDATE party SET kind = $2, name = $3, parent_id = $4, unit_type = $5, code = $6,
                   paired_community_ids = $7, active = $8, version = $9, updated_at = $10
               WHERE party_id = $1""",
            *_columns(party),
            now,
        )


async def record_version(
    conn: asyncpg.Connection, party: Party, now: datetime, changed_by: str
) -> None:
    """Keep this version of the party in its history (same transaction as the save)."""
    await conn.execute(
        """INSERT INTO party_version (party_id, kind, name, parent_id, unit_type, code,
               paired_community_ids, active, version, changed_by, changed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
        *_columns(party),
        changed_by,
        now,
    )


async def history(
    conn: asyncpg.Connection, party_id: UUID, *, limit: int, offset: int
) -> tuple[list[tuple[Party, str | None, datetime]], int]:
    """The party's versions, newest first, each with who saved it and when."""
    rows, total = await page(
        conn,
        f"""SELECT *, {TOTAL} FROM party_version WHERE party_id = $1
            ORDER BY version DESC""",
        party_id,
        limit=limit,
        offset=offset,
    )
    return [(_party(r), r["changed_by"], r["changed_at"]) for r in rows], total


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


# --- where parties sit (for the matcher) ------------------------------------------------


async def place_of(conn: asyncpg.Connection, community_id: UUID) -> Place:
    row = await conn.fetchrow(
        """SELECT c.party_id, s.party_id AS street_id, s.parent_id AS district_id
           FROM party c LEFT JOIN party s ON s.party_id = c.parent_id
           WHERE c.party_id = $1""",
        community_id,
    )
    if row is None:
        return Place(community_id, None, None)
    return Place(community_id, row["street_id"], row["district_id"])


async def reach_of(conn: asyncpg.Connection, unit_id: UUID) -> UnitReach:
    row = await conn.fetchrow(
        """SELECT u.parent_id, u.paired_community_ids,
                  ARRAY(SELECT DISTINCT c.parent_id FROM party c
                        WHERE c.party_id = ANY(u.paired_community_ids) AND c.parent_id IS NOT NULL)
                      AS streets
           FROM party u WHERE u.party_id = $1""",
        unit_id,
    )
    if row is None:
        return UnitReach(unit_id, None, frozenset(), frozenset())
    return UnitReach(
        unit_id, row["parent_id"], frozenset(row["paired_community_ids"]), frozenset(row["streets"])
    )
