"""The tables whose rows are updated again and again leave room on each page for the next
version (fillfactor), so those updates can be HOT: no new index entries, the old version
pruned in place instead of left as a dead row for the next reader (bench/RESULTS-large.md)."""

from __future__ import annotations

from typing import Any

import pytest
from cobuild_kit.db import connect
from cobuild_kit.testing import prepare_database

ROOM = {
    "evaluation": {"ledger_daily": 70, "ledger_commitments": 80, "member_points": 80},
    "points": {"points_chain": 80, "points_usage": 80},
}


@pytest.mark.parametrize("service", sorted(ROOM))
async def test_the_tables_updated_in_place_leave_room_on_each_page(
    pg_server: Any, service: str
) -> None:
    dsn = await pg_server.create_database(f"room{service}")
    await prepare_database(dsn, service)
    conn = await connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT relname, reloptions FROM pg_class WHERE relkind = 'r' AND reloptions IS NOT NULL"
        )
    finally:
        await conn.close()
    found = {r["relname"]: r["reloptions"] for r in rows}
    assert found == {table: [f"fillfactor={ff}"] for table, ff in ROOM[service].items()}
