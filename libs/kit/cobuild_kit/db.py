"""asyncpg pool with json/jsonb codecs, so jsonb comes back as Python values, not strings."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg


def _default(value: Any) -> Any:
    if isinstance(value, Decimal | UUID):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> str:
    return json.dumps(value, default=_default, ensure_ascii=False, separators=(",", ":"))


async def _init_connection(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(
    dsn: str, *, min_size: int = 2, max_size: int = 10, statement_cache_size: int = 100
) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        # Keep asyncpg's reset query on release, although it costs a round trip: skipping it
        # returned connections broken mid-operation by a PostgreSQL restart to the pool, and
        # the next request on one was a 500 ("another operation is in progress"); the
        # fault suite caught it.
        statement_cache_size=statement_cache_size,
        command_timeout=60,
    )
    assert pool is not None
    return pool


async def connect(dsn: str) -> asyncpg.Connection:
    """A single connection with the same codecs (relay leader, LISTEN, CLI tools)."""
    conn = await asyncpg.connect(dsn)
    await _init_connection(conn)
    return conn
