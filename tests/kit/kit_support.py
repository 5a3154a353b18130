"""Helpers shared by the kit's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID, uuid4

import asyncpg
from cobuild_contracts import PartyKind, PartyRegistered
from cobuild_kit.clock import SystemClock
from cobuild_kit.db import connect, create_pool
from cobuild_kit.migrations import migrate, package_migrations
from cobuild_kit.outbox import Outbox
from cobuild_stack.testing import PgServer


def party(name: str = "和平社区", party_id: UUID | None = None) -> PartyRegistered:
    """A community registration: the smallest real event the kit's tests send."""
    return PartyRegistered(
        party_id=party_id or uuid4(),
        kind=PartyKind.COMMUNITY,
        name=name,
        parent_id=None,
        unit_type=None,
        code=None,
        version=1,
    )


async def staged_outbox(dsn: str, topic: str, rows: int) -> tuple[asyncpg.Connection, list[str]]:
    """A connection to a kit database whose outbox holds `rows` unpublished party events for
    `topic`, and their event ids in outbox order."""
    conn = await connect(dsn)
    await migrate(conn, package_migrations("cobuild_kit", "kit"))
    outbox = Outbox("relaytest", SystemClock())
    async with conn.transaction():
        staged = [(topic, outbox.envelope(party(f"社区 {i}"))) for i in range(rows)]
        await outbox.add_envelopes(conn, staged)
    ids = await conn.fetch("SELECT event_id::text FROM outbox ORDER BY id")
    return conn, [r[0] for r in ids]


@asynccontextmanager
async def one_connection_pool(pg_server: PgServer, database: str) -> AsyncIterator[asyncpg.Pool]:
    """A kit pool of a single connection on a fresh database: the next acquire gets the same
    connection, and a second caller waits for it."""
    pool = await create_pool(await pg_server.create_database(database), min_size=1, max_size=1)
    try:
        yield pool
    finally:
        await pool.close()
