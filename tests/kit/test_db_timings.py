"""A unit of work times its wait for a pooled connection and its COMMIT (the WAL flush), so
an operator can tell a slow disk or a saturated pool from slow code (cobuild_db_*_seconds)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from cobuild_kit.db import transaction
from cobuild_stack.testing import PgServer
from prometheus_client import REGISTRY

from tests.kit.kit_support import one_connection_pool

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def pool(pg_server: PgServer) -> AsyncIterator[asyncpg.Pool]:
    async with one_connection_pool(pg_server, "dbtimings") as one:
        yield one


def _count(histogram: str, le: str | None = None) -> float:
    if le is None:
        value = REGISTRY.get_sample_value(f"{histogram}_count")
    else:
        value = REGISTRY.get_sample_value(f"{histogram}_bucket", {"le": le})
    return value or 0.0


async def test_a_commit_is_timed(pool: asyncpg.Pool) -> None:
    commits, waits = _count("cobuild_db_commit_seconds"), _count("cobuild_db_pool_wait_seconds")
    async with transaction(pool) as conn:
        await conn.execute("SELECT 1")
    assert _count("cobuild_db_commit_seconds") == commits + 1
    assert _count("cobuild_db_pool_wait_seconds") == waits + 1


async def test_a_rollback_is_not_counted_as_a_commit(pool: asyncpg.Pool) -> None:
    commits = _count("cobuild_db_commit_seconds")
    with pytest.raises(RuntimeError):
        async with transaction(pool):
            raise RuntimeError("the unit of work fails")
    assert _count("cobuild_db_commit_seconds") == commits


async def test_a_wait_for_the_pool_lands_in_its_bucket(pool: asyncpg.Pool) -> None:
    """The only connection is held for 0.3 s: the second unit of work waits at least 0.25 s,
    so it lands above that bucket, where the holder's own (instant) wait does not."""
    below = _count("cobuild_db_pool_wait_seconds", "0.25")
    waits = _count("cobuild_db_pool_wait_seconds")
    held = asyncio.Event()

    async def holder() -> None:
        async with transaction(pool):
            held.set()
            await asyncio.sleep(0.3)

    task = asyncio.create_task(holder())
    await held.wait()
    async with transaction(pool):
        pass
    await task
    assert _count("cobuild_db_pool_wait_seconds") == waits + 2
    assert _count("cobuild_db_pool_wait_seconds", "0.25") == below + 1  # the holder's
