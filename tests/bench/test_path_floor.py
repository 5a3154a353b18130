"""The fulfilment path's floor (bench/path_floor.py): its workers, against the real broker and
PostgreSQL, take every event through all three hops and the relay, once."""

from __future__ import annotations

import asyncpg
import pytest
from cobuild_stack.procs import pid_alive
from cobuild_stack.testing import PgServer

from bench import path_floor

pytestmark = pytest.mark.asyncio(loop_scope="session")

N = 1_500


async def _counts(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT consumer, count(*) AS n FROM ref_inbox GROUP BY consumer")
        out = {r["consumer"]: r["n"] for r in rows}
        out["outbox"] = await conn.fetchval("SELECT count(*) FROM ref_outbox")
        out["unpublished"] = await conn.fetchval(
            "SELECT count(*) FROM ref_outbox WHERE published_at IS NULL"
        )
        out["state"] = await conn.fetchval("SELECT sum(n) FROM ref_state")
        return out
    finally:
        await conn.close()


async def test_every_event_takes_the_three_hops_and_the_relay_once(
    pg_server: PgServer, kafka_bootstrap: str
) -> None:
    dsns = {w: await pg_server.create_database(f"floor_{w}") for w in path_floor.WORKERS}
    started: dict[str, int] = {}
    ended: list[bool] = []

    def at_end() -> None:  # the workers must still be alive for the CPU reading
        ended.append(all(pid_alive(pid) for pid in started.values()))

    rate = await path_floor.fulfilment_floor(
        kafka_bootstrap, dsns, N, started.update, at_end, timeout_s=120
    )

    assert rate > 0
    assert set(started) == set(path_floor.WORKERS)
    assert ended == [True]
    assert not any(pid_alive(pid) for pid in started.values())
    points, evaluation = await _counts(dsns["points"]), await _counts(dsns["evaluation"])
    assert points == {"in": N, "outbox": N, "unpublished": 0, "state": N}
    assert evaluation == {"in": N, "mid": N, "outbox": 0, "unpublished": 0, "state": 2 * N}
