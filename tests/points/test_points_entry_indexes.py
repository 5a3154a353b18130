"""Points migration 0004: the journal keeps only the indexes something reads. Awards no longer
write an entry into a by-day index nobody queries, nor a NULL into the reversals' unique index,
and the database still refuses a second reversal of one award on its own, whatever code path
writes it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from cobuild_kit.db import connect
from cobuild_kit.testing import prepare_database
from cobuild_points.store import ledger

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
DAY = date(2026, 6, 1)


def _entry(member: Any, kind: str, points: str, reverses: Any = None) -> ledger.NewEntry:
    return ledger.NewEntry(
        member_id=member, year=DAY.year, kind=kind, points=Decimal(points), reason="test",
        cause_event_id=uuid4(), rule_code="task", rule_set_version="2026-v1",
        category="task", source_id=uuid4(), community_id=uuid4(), unit_id=uuid4(),
        business_date=DAY, recorded_at=NOW, reverses_entry_id=reverses,
    )  # fmt: skip


async def _append(conn: asyncpg.Connection, entry: ledger.NewEntry) -> asyncpg.Record:
    appends = ledger.ChainAppends(await ledger.lock_chains(conn, [(entry.member_id, entry.year)]))
    entry_id = appends.add(entry)
    return (await appends.write(conn))[entry_id]


async def _index_entries(conn: asyncpg.Connection) -> float:
    """The reversal index's entries, as ANALYZE counts them (every row, at this size)."""
    await conn.execute("ANALYZE points_entry")
    entries: float = await conn.fetchval(
        "SELECT reltuples FROM pg_class WHERE relname = 'points_entry_reversal'"
    )
    return entries


async def test_awards_write_no_reversal_or_day_index_entries_and_one_reversal_is_the_rule(
    pg_server: Any,
) -> None:
    dsn = await pg_server.create_database("pointsindexes")
    await prepare_database(dsn, "points")
    conn = await connect(dsn)
    try:
        indexes = {
            r["indexname"]: r["indexdef"]
            for r in await conn.fetch(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'points_entry'"
            )
        }
        assert "points_entry_day" not in indexes
        assert "points_entry_reverses_entry_id_key" not in indexes
        assert "WHERE (reverses_entry_id IS NOT NULL)" in indexes["points_entry_reversal"]

        member = uuid4()
        async with conn.transaction():
            award = await _append(conn, _entry(member, "award", "3"))
            for _ in range(9):
                await _append(conn, _entry(member, "award", "1"))
        assert await _index_entries(conn) == 0  # ten awards, no entries

        async with conn.transaction():
            await _append(conn, _entry(member, "reversal", "-3", reverses=award["entry_id"]))
        assert await _index_entries(conn) == 1
        async with conn.transaction():  # the service's lookup can use it (tiny table: forced)
            await conn.execute("SET LOCAL enable_seqscan = off")
            plan = await conn.fetchval(
                "EXPLAIN SELECT entry_id FROM points_entry WHERE reverses_entry_id = $1",
                award["entry_id"],
            )
        assert "points_entry_reversal" in plan

        # A second reversal of the same award, past the service's own check: the index refuses.
        with pytest.raises(asyncpg.UniqueViolationError, match="points_entry_reversal"):
            async with conn.transaction():
                await _append(conn, _entry(member, "reversal", "-3", reverses=award["entry_id"]))
        assert await conn.fetchval("SELECT count(*) FROM points_entry") == 11
    finally:
        await conn.close()
