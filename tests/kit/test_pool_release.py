"""Pool connections go back without asyncpg's reset round trip only after a `transaction` that
committed; every other release still runs the reset (and drops a connection it cannot reset).

Session state shows which: `set_config(…, false)` outlives a commit, and the reset clears it. A
connection broken by a PostgreSQL restart must not come back to the pool: the full fault set
(`make faults`, "PostgreSQL killed and restarted") drives that case end to end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from cobuild_kit.db import transaction
from cobuild_stack.testing import PgServer

from tests.kit.kit_support import one_connection_pool

pytestmark = pytest.mark.asyncio(loop_scope="session")

_MARK = "SELECT set_config('application_name', 'left-behind', false)"


@pytest_asyncio.fixture(loop_scope="session")
async def pool(pg_server: PgServer) -> AsyncIterator[asyncpg.Pool]:
    async with one_connection_pool(pg_server, "poolrelease") as one:
        yield one


async def _session_mark(pool: asyncpg.Pool) -> str:
    async with pool.acquire() as conn:
        return str(await conn.fetchval("SHOW application_name"))


async def test_a_commit_hands_the_connection_back_without_the_reset(pool: asyncpg.Pool) -> None:
    async with transaction(pool) as conn:
        await conn.fetchval(_MARK)
    assert await _session_mark(pool) == "left-behind"  # no reset ran


async def test_a_plain_acquire_is_still_reset(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await conn.fetchval(_MARK)
    assert await _session_mark(pool) == ""


async def test_a_commit_does_not_spare_the_next_release(pool: asyncpg.Pool) -> None:
    async with transaction(pool):
        pass
    async with pool.acquire() as conn:  # the same connection, used without `transaction`
        await conn.fetchval(_MARK)
    assert await _session_mark(pool) == ""


async def test_a_rollback_is_reset(pool: asyncpg.Pool) -> None:
    """A rollback undoes `set_config`, but not a session advisory lock: only the reset's
    `pg_advisory_unlock_all()` releases it."""
    with pytest.raises(RuntimeError):
        async with transaction(pool) as conn:
            await conn.execute("SELECT pg_advisory_lock(4242)")
            raise RuntimeError("the unit of work fails")
    async with pool.acquire() as conn:
        held = await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        )
    assert held == 0
