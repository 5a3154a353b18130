"""Needs and resources: the current row of each, plus every version as published."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from cobuild_contracts import NeedPublished, ResourceOffered
from cobuild_kit.errors import NotFound

from cobuild_agreements.domain.matching import NeedView, ResourceView
from cobuild_agreements.store.paging import TOTAL, page

_NEED_COLUMNS = (
    "category, kind, title, description, quantity, quantity_unit, funds_fen, wanted_by, "
    "beneficiaries, visibility"
)
_RESOURCE_COLUMNS = (
    "category, kind, title, description, capacity, capacity_unit, funds_fen, available_from, "
    "available_until, community_ids"
)


def _need_values(e: NeedPublished) -> tuple[Any, ...]:
    return (
        e.category,
        e.kind.value,
        e.title,
        e.description,
        e.quantity,
        e.quantity_unit,
        e.funds_fen,
        e.wanted_by,
        e.beneficiaries,
        e.visibility.value,
    )


def _resource_values(e: ResourceOffered) -> tuple[Any, ...]:
    return (
        e.category,
        e.kind.value,
        e.title,
        e.description,
        e.capacity,
        e.capacity_unit,
        e.funds_fen,
        e.available_from,
        e.available_until,
        list(e.community_ids),
    )


# --- needs -----------------------------------------------------------------------------


async def save_need(conn: asyncpg.Connection, e: NeedPublished) -> None:
    if e.version == 1:
        await conn.execute(
            f"""INSERT INTO need (need_id, community_id, version, status, published_at, updated_at,
                    {_NEED_COLUMNS})
                VALUES ($1, $2, $3, 'published', $4, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)""",
            e.need_id,
            e.community_id,
            e.version,
            e.published_at,
            *_need_values(e),
        )
    else:
        await conn.execute(
            """UPDATE need SET version = $2, updated_at = $3, category = $4, kind = $5, title = $6,
                   description = $7, quantity = $8, quantity_unit = $9, funds_fen = $10,
                   wanted_by = $11, beneficiaries = $12, visibility = $13
               WHERE need_id = $1""",
            e.need_id,
            e.version,
            e.published_at,
            *_need_values(e),
        )
    await record_need_version(
        conn, e.need_id, e.version, e.EVENT_TYPE, e.model_dump(mode="json"), e.published_at
    )


async def record_need_version(
    conn: asyncpg.Connection,
    need_id: UUID,
    version: int,
    event_type: str,
    snapshot: dict[str, Any],
    at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO need_version (need_id, version, event, snapshot, recorded_at) "
        "VALUES ($1, $2, $3, $4, $5)",
        need_id,
        version,
        event_type,
        snapshot,
        at,
    )


async def get_need(
    conn: asyncpg.Connection, need_id: UUID, *, lock: bool = False
) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT * FROM need WHERE need_id = $1" + (" FOR UPDATE" if lock else ""), need_id
    )
    if row is None:
        raise NotFound(f"need {need_id} does not exist")
    return row


async def need_community(conn: asyncpg.Connection, need_id: UUID) -> UUID | None:
    """The community a need belongs to, or None when there is no such need."""
    found: UUID | None = await conn.fetchval(
        "SELECT community_id FROM need WHERE need_id = $1", need_id
    )
    return found


async def set_need_status(
    conn: asyncpg.Connection, need_id: UUID, status: str, at: datetime
) -> None:
    await conn.execute(
        "UPDATE need SET status = $2, updated_at = $3 WHERE need_id = $1", need_id, status, at
    )


async def need_versions(conn: asyncpg.Connection, need_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT version, event, snapshot, recorded_at FROM need_version WHERE need_id = $1 "
        "ORDER BY version, recorded_at",
        need_id,
    )
    return rows


async def community_needs(
    conn: asyncpg.Connection,
    community_id: UUID,
    *,
    public_only: bool,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[asyncpg.Record], int]:
    return await page(
        conn,
        f"""SELECT *, {TOTAL} FROM need WHERE community_id = $1
                AND ($2::text IS NULL OR status = $2)
                AND (NOT $3 OR visibility = 'public')
            ORDER BY wanted_by, published_at, need_id""",
        community_id,
        status,
        public_only,
        limit=limit,
        offset=offset,
    )


def need_view(row: asyncpg.Record) -> NeedView:
    return NeedView(
        need_id=row["need_id"],
        community_id=row["community_id"],
        category=row["category"],
        kind=row["kind"],
        quantity=row["quantity"],
        funds_fen=row["funds_fen"],
        wanted_by=row["wanted_by"],
        paired_only=row["visibility"] == "paired_units",
    )


# --- resources -------------------------------------------------------------------------


async def save_resource(conn: asyncpg.Connection, e: ResourceOffered) -> None:
    if e.version == 1:
        await conn.execute(
            f"""INSERT INTO resource (resource_id, unit_id, version, status, offered_at, updated_at,
                    {_RESOURCE_COLUMNS})
                VALUES ($1, $2, $3, 'offered', $4, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)""",
            e.resource_id,
            e.unit_id,
            e.version,
            e.offered_at,
            *_resource_values(e),
        )
    else:
        await conn.execute(
            """UPDATE resource SET version = $2, updated_at = $3, category = $4, kind = $5,
                   title = $6, description = $7, capacity = $8, capacity_unit = $9,
                   funds_fen = $10, available_from = $11, available_until = $12, community_ids = $13
               WHERE resource_id = $1""",
            e.resource_id,
            e.version,
            e.offered_at,
            *_resource_values(e),
        )
    await record_resource_version(
        conn, e.resource_id, e.version, e.EVENT_TYPE, e.model_dump(mode="json"), e.offered_at
    )


async def record_resource_version(
    conn: asyncpg.Connection,
    resource_id: UUID,
    version: int,
    event_type: str,
    snapshot: dict[str, Any],
    at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO resource_version (resource_id, version, event, snapshot, recorded_at) "
        "VALUES ($1, $2, $3, $4, $5)",
        resource_id,
        version,
        event_type,
        snapshot,
        at,
    )


async def get_resource(
    conn: asyncpg.Connection, resource_id: UUID, *, lock: bool = False
) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT * FROM resource WHERE resource_id = $1" + (" FOR UPDATE" if lock else ""),
        resource_id,
    )
    if row is None:
        raise NotFound(f"resource {resource_id} does not exist")
    return row


async def set_resource_status(
    conn: asyncpg.Connection, resource_id: UUID, status: str, at: datetime
) -> None:
    await conn.execute(
        "UPDATE resource SET status = $2, updated_at = $3 WHERE resource_id = $1",
        resource_id,
        status,
        at,
    )


async def unit_resources(
    conn: asyncpg.Connection, unit_id: UUID, *, status: str | None, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    return await page(
        conn,
        f"""SELECT *, {TOTAL} FROM resource WHERE unit_id = $1
                AND ($2::text IS NULL OR status = $2)
            ORDER BY available_until, offered_at, resource_id""",
        unit_id,
        status,
        limit=limit,
        offset=offset,
    )


async def resource_versions(conn: asyncpg.Connection, resource_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT version, event, snapshot, recorded_at FROM resource_version "
        "WHERE resource_id = $1 ORDER BY version, recorded_at",
        resource_id,
    )
    return rows


def resource_view(row: asyncpg.Record) -> ResourceView:
    return ResourceView(
        resource_id=row["resource_id"],
        unit_id=row["unit_id"],
        category=row["category"],
        kind=row["kind"],
        capacity=row["capacity"],
        funds_fen=row["funds_fen"],
        available_from=row["available_from"],
        available_until=row["available_until"],
        community_ids=frozenset(row["community_ids"]),
    )


# --- candidates for the matcher ---------------------------------------------------------


async def offered_like(conn: asyncpg.Connection, category: str, kind: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM resource WHERE status = 'offered' AND category = $1 AND kind = $2",
        category,
        kind,
    )
    return rows


async def published_like(
    conn: asyncpg.Connection, category: str, kind: str
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT * FROM need WHERE status = 'published' AND category = $1 AND kind = $2
               AND visibility <> 'private'""",
        category,
        kind,
    )
    return rows


async def lock_need_ids(conn: asyncpg.Connection, need_ids: list[UUID]) -> None:
    """Transaction-scoped advisory locks on client-minted need ids, in one order (so two
    commands naming the same ids in another order cannot deadlock): a concurrent command
    naming one of them waits here until this one commits, then sees what it published."""
    await conn.execute(
        """SELECT count(pg_advisory_xact_lock(k)) FROM (
               SELECT DISTINCT hashtextextended('need:' || x::text, 0) AS k
               FROM unnest($1::uuid[]) AS x ORDER BY 1) AS keys""",
        need_ids,
    )


async def first_versions(
    conn: asyncpg.Connection, need_ids: list[UUID]
) -> dict[UUID, asyncpg.Record]:
    """Of the needs that exist among `need_ids`: their community, current version and status,
    and the snapshot they were first published with (a bulk command compares a re-sent item
    with it)."""
    rows = await conn.fetch(
        """SELECT n.need_id, n.community_id, n.version, n.status, v.snapshot
           FROM need n JOIN need_version v
             ON v.need_id = n.need_id AND v.version = 1 AND v.event = 'need.published'
           WHERE n.need_id = ANY($1::uuid[])""",
        need_ids,
    )
    return {r["need_id"]: r for r in rows}


async def lock_resource_ids(conn: asyncpg.Connection, resource_ids: list[UUID]) -> None:
    """As lock_need_ids, for client-minted resource ids."""
    await conn.execute(
        """SELECT count(pg_advisory_xact_lock(k)) FROM (
               SELECT DISTINCT hashtextextended('resource:' || x::text, 0) AS k
               FROM unnest($1::uuid[]) AS x ORDER BY 1) AS keys""",
        resource_ids,
    )


async def first_resource_versions(
    conn: asyncpg.Connection, resource_ids: list[UUID]
) -> dict[UUID, asyncpg.Record]:
    """As first_versions, for resources: their unit, current version and status, and the
    snapshot they were first offered with."""
    rows = await conn.fetch(
        """SELECT r.resource_id, r.unit_id, r.version, r.status, v.snapshot
           FROM resource r JOIN resource_version v
             ON v.resource_id = r.resource_id AND v.version = 1 AND v.event = 'resource.offered'
           WHERE r.resource_id = ANY($1::uuid[])""",
        resource_ids,
    )
    return {r["resource_id"]: r for r in rows}
