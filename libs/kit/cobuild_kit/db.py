"""asyncpg pool with json/jsonb codecs, so jsonb comes back as Python values, not strings, and
units of work that hand their connection back without a reset round trip once they commit."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from cobuild_kit import metrics


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
        connection_class=PooledConnection,
        reset=_reset_unless_committed,
        statement_cache_size=statement_cache_size,
        command_timeout=60,
    )
    assert pool is not None
    return pool


class PooledConnection(asyncpg.Connection):  # type: ignore[misc]
    """A pool connection that knows whether its last use ended in a commit (see
    `transaction`)."""

    __slots__ = ("_committed",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._committed = False

    def note_committed(self) -> None:
        self._committed = True

    def take_committed(self) -> bool:
        committed, self._committed = self._committed, False
        return committed


async def _reset_unless_committed(conn: asyncpg.Connection) -> None:
    """On release (asyncpg has already rolled back a transaction left open): asyncpg's reset
    query, unless the connection's last use was a `transaction` that committed.

    The reset query is a round trip, about 140 us of CPU between client and backend on the
    bench machine (bench/references.py: `pg_round_trip`), one in six of a small command's.
    After a commit there is nothing for it to do: the connection is idle and the units of
    work leave no session state (`SET LOCAL` only, transaction-scoped advisory locks,
    temporary tables `ON COMMIT DROP`; LISTEN and session locks use their own `connect()`
    connections). Every other release keeps it, so a connection broken mid-operation (a
    PostgreSQL restart) fails the reset and is dropped, instead of going back to the pool to
    fail the next request with "another operation is in progress" (the fault suite caught
    that when the reset was skipped for every release)."""
    if isinstance(conn, PooledConnection) and conn.take_committed():
        return
    await conn.execute(conn.get_reset_query())


@asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A pool connection inside a transaction; if the transaction commits, the connection
    goes back to the pool without the reset round trip (`_reset_unless_committed`). Nothing
    can run on it between the commit and the release. The wait for the connection and the
    COMMIT are timed (`metrics.DB_POOL_WAIT`, `metrics.DB_COMMIT`)."""
    asked = time.perf_counter()
    async with pool.acquire() as conn:
        metrics.DB_POOL_WAIT.observe(time.perf_counter() - asked)
        async with conn.transaction():
            yield conn
            committing = time.perf_counter()  # not reached when the body raised
        metrics.DB_COMMIT.observe(time.perf_counter() - committing)
        # Through the pool's proxy, to the connection itself.
        conn.note_committed()


async def connect(dsn: str) -> asyncpg.Connection:
    """A single connection with the same codecs (relay leader, LISTEN, CLI tools)."""
    conn = await asyncpg.connect(dsn)
    await _init_connection(conn)
    return conn
