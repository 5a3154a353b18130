"""`points_usage` (points migration 0003) holds what the caps count: the points of the awards
that were not reversed, by business day, source and category. The migration backfills it from
the journal, and a trigger moves it on every insert. Both are held against a count made here
from the entries. An award reads its room from it, and a reversal gives the room back."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from cobuild_contracts import Envelope, Event, wrap
from cobuild_kit.db import connect
from cobuild_kit.migrations import migrate
from cobuild_points.app import definition
from cobuild_points.store import ledger
from cobuild_points.usecases import awards

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
DAY = date(2026, 6, 1)
_Key = tuple[UUID, int, str, str]


def _request(member: UUID, source: UUID, hours: str, day: date = DAY) -> awards.AwardRequest:
    return awards.AwardRequest(
        member_id=member,
        rule_code=awards.TASK_RULE,  # 3 points an hour; caps 20 a day, 12 a task
        hours=Decimal(hours),
        cause_event_id=uuid4(),
        business_date=day,
        source_id=source,
        community_id=uuid4(),
        unit_id=uuid4(),
        at=NOW,
        what=f"commitment {source}",
    )


async def _emit(event: Event) -> Envelope:
    return wrap(event, producer="points", occurred_at=NOW)


async def _entry(conn: asyncpg.Connection, member: UUID, source: UUID | None, pts: str,
                 day: date, category: str = "task") -> UUID:  # fmt: skip
    """An award appended straight to the journal, as one written before migration 0003."""
    appends = ledger.ChainAppends(await ledger.lock_chains(conn, [(member, day.year)]))
    entry_id: UUID = appends.add(
        ledger.NewEntry(
            member_id=member, year=day.year, kind="award", points=Decimal(pts),
            reason="test", cause_event_id=uuid4(), rule_code="task",
            rule_set_version="2026-v1", category=category, source_id=source,
            community_id=uuid4(), unit_id=uuid4(), business_date=day, recorded_at=NOW,
        ),
    )  # fmt: skip
    await appends.write(conn)
    return entry_id


async def _reverse(conn: asyncpg.Connection, entry_id: UUID) -> None:
    await awards.reverse(conn, _emit, entry_id, reason="entered in error", at=NOW)


async def _counted(conn: asyncpg.Connection) -> dict[_Key, Decimal]:
    """The kept awards summed by part, from the journal, in Python."""
    rows = await conn.fetch("SELECT * FROM points_entry")
    reversed_ = {r["reverses_entry_id"] for r in rows if r["kind"] == "reversal"}
    out: dict[_Key, Decimal] = defaultdict(Decimal)
    for r in rows:
        if r["kind"] != "award" or r["entry_id"] in reversed_:
            continue
        parts = [("day", r["business_date"].isoformat()), ("category", r["category"])]
        if r["source_id"] is not None:
            parts.append(("source", str(r["source_id"])))
        for part, key in parts:
            out[(r["member_id"], r["year"], part, key)] += r["points"]
    return dict(out)


async def _usage(conn: asyncpg.Connection, table: str = "points_usage") -> dict[_Key, Decimal]:
    rows = await conn.fetch(
        f"SELECT member_id, year, part, key, points FROM {table} WHERE points <> 0"
    )
    return {(r[0], r[1], r[2], r[3]): r[4] for r in rows}


async def test_the_migration_backfills_the_usage_of_the_journal_it_finds(pg_server: Any) -> None:
    dsn = await pg_server.create_database("ptsusefill")
    every = definition().migrations()
    conn = await connect(dsn)
    try:
        before = [m for m in every if not (m.source == "points" and m.version >= "0003")]
        await migrate(conn, before)
        a, b, task1, task2 = uuid4(), uuid4(), uuid4(), uuid4()
        async with conn.transaction():
            await _entry(conn, a, task1, "6.00", DAY)
            await _entry(conn, a, task2, "4.50", DAY)
            gone = await _entry(conn, a, task2, "3.00", date(2026, 6, 2))
            await _entry(conn, a, None, "5.00", DAY, category="wish")
            await _entry(conn, b, task1, "9.00", date(2025, 12, 31))
            await _reverse(conn, gone)
        assert "points/0003_cap_usage" in await migrate(conn, every)
        counted = await _counted(conn)
        assert await _usage(conn) == counted
        assert counted[(a, 2026, "day", "2026-06-01")] == Decimal("15.50")
        assert counted[(a, 2026, "source", str(task2))] == Decimal("4.50")  # 3.00 reversed
        assert (a, 2026, "day", "2026-06-02") not in counted
        assert counted[(b, 2025, "category", "task")] == Decimal("9.00")
    finally:
        await conn.close()


async def test_awards_and_reversals_move_the_usage_and_a_reversal_gives_room_back(
    pg_server: Any,
) -> None:
    dsn = await pg_server.create_database("ptsuse")
    conn = await connect(dsn)
    member, task1, task2, task3 = uuid4(), uuid4(), uuid4(), uuid4()
    try:
        await migrate(conn, definition().migrations())

        async def award(source: UUID, hours: str) -> asyncpg.Record | None:
            async with conn.transaction():
                return await awards.award(conn, _emit, _request(member, source, hours))

        first = await award(task1, "4")  # 12: the whole per-task cap
        second = await award(task2, "4")  # 12 asked, 8 left under the daily cap of 20
        assert first is not None and first["points"] == Decimal("12.00")
        assert second is not None and second["points"] == Decimal("8.00")
        assert await award(task3, "1") is None  # nothing left today
        assert await _usage(conn) == await _counted(conn)

        async with conn.transaction():
            await _reverse(conn, first["entry_id"])
        assert await _usage(conn) == await _counted(conn)
        assert (member, 2026, "source", str(task1)) not in await _usage(conn)

        again = await award(task3, "1")  # the reversal gave 12 back
        assert again is not None and again["points"] == Decimal("3.00")
        usage = await _usage(conn)
        assert usage == await _counted(conn)
        assert usage == await _usage(conn, "points_usage_recount")
        assert usage[(member, 2026, "day", DAY.isoformat())] == Decimal("11.00")
    finally:
        await conn.close()
