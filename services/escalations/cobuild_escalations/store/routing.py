"""The districts' routing tables, table `routing_tables`: one row per version, never edited."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from cobuild_contracts.events.escalations import Level, Urgency

from cobuild_escalations.domain.routing import (
    LimitRule,
    Limits,
    RoutingRule,
    RoutingTable,
    Span,
)

_COLUMNS = "district_id, version, rules, limits, note, published_by, published_at"


def _uuid(value: str | None) -> UUID | None:
    return None if value is None else UUID(value)


def _table(row: asyncpg.Record) -> RoutingTable:
    rules = tuple(
        RoutingRule(
            department_id=UUID(r["department_id"]),
            category=r.get("category"),
            raiser_level=None if r.get("raiser_level") is None else Level(r["raiser_level"]),
            street_id=_uuid(r.get("street_id")),
        )
        for r in row["rules"]
    )
    limits = tuple(
        LimitRule(
            urgency=Urgency(x["urgency"]),
            limits=Limits(Span.parse(x["respond"], "respond"), Span.parse(x["resolve"], "resolve")),
            category=x.get("category"),
        )
        for x in row["limits"]
    )
    return RoutingTable(row["district_id"], row["version"], rules, limits, row["note"])


def _rules_json(t: RoutingTable) -> list[dict[str, Any]]:
    return [
        {
            "department_id": str(r.department_id),
            "category": r.category,
            "raiser_level": None if r.raiser_level is None else r.raiser_level.value,
            "street_id": None if r.street_id is None else str(r.street_id),
        }
        for r in t.rules
    ]


def _limits_json(t: RoutingTable) -> list[dict[str, Any]]:
    return [
        {
            "category": x.category,
            "urgency": x.urgency.value,
            "respond": str(x.limits.respond),
            "resolve": str(x.limits.resolve),
        }
        for x in t.limits
    ]


async def current(conn: asyncpg.Connection, district_id: UUID) -> RoutingTable | None:
    row = await conn.fetchrow(
        f"""SELECT {_COLUMNS} FROM routing_tables WHERE district_id = $1
            ORDER BY version DESC LIMIT 1""",
        district_id,
    )
    return _table(row) if row else None


async def version(conn: asyncpg.Connection, district_id: UUID, n: int) -> RoutingTable | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM routing_tables WHERE district_id = $1 AND version = $2",
        district_id,
        n,
    )
    return _table(row) if row else None


async def versions(conn: asyncpg.Connection, district_id: UUID) -> list[asyncpg.Record]:
    """Each version's number, note, publisher and time, oldest first (the audit)."""
    return list(
        await conn.fetch(
            """SELECT version, note, published_by, published_at FROM routing_tables
               WHERE district_id = $1 ORDER BY version""",
            district_id,
        )
    )


async def publish(
    conn: asyncpg.Connection, t: RoutingTable, *, by: str, at: datetime
) -> tuple[RoutingTable, datetime]:
    """Record `t` as the district's next version (its own `version` is ignored), numbered
    under a lock on the district's tables; inside the caller's transaction."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('routing:' || $1::uuid::text, 0))",
        t.district_id,
    )
    n = await conn.fetchval(
        "SELECT coalesce(max(version), 0) + 1 FROM routing_tables WHERE district_id = $1",
        t.district_id,
    )
    row = await conn.fetchrow(
        f"""INSERT INTO routing_tables ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
            RETURNING {_COLUMNS}""",
        t.district_id,
        n,
        _rules_json(t),
        _limits_json(t),
        t.note,
        by,
        at,
    )
    assert row is not None
    return _table(row), row["published_at"]
