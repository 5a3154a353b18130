"""The points journal (`points_entry`) and its chain heads (`points_chain`): append-only,
hash-chained per member and year.

Appending locks the chains' head rows (SELECT … FOR UPDATE), so two consumers awarding the same
member at once queue up instead of forking a chain. One path appends, for one entry or a run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
from cobuild_contracts import uuid7

from cobuild_points.domain.chain import (
    ChainedEntry,
    ChainHead,
    EntryContent,
    entry_hash,
    genesis_hash,
)
from cobuild_points.domain.rules import points
from cobuild_points.store.paging import Slice, fetch_slice


@dataclass(frozen=True)
class NewEntry:
    member_id: UUID
    year: int
    kind: str
    points: Decimal
    reason: str
    cause_event_id: UUID
    rule_code: str
    rule_set_version: str
    category: str
    source_id: UUID | None
    community_id: UUID
    unit_id: UUID
    business_date: date
    recorded_at: datetime
    capped: bool = False
    cap_reason: str | None = None
    reverses_entry_id: UUID | None = None


ChainKey = tuple[UUID, int]  # (member_id, year)

_APPEND_MANY = """
INSERT INTO points_entry (entry_id, member_id, year, seq, kind, points, reason, cause_event_id,
    rule_code, rule_set_version, category, source_id, community_id, unit_id, business_date,
    capped, cap_reason, reverses_entry_id, recorded_at, prev_hash, hash)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::int[], $5::text[],
    $6::numeric[], $7::text[], $8::uuid[], $9::text[], $10::text[], $11::text[], $12::uuid[],
    $13::uuid[], $14::uuid[], $15::date[], $16::boolean[], $17::text[], $18::uuid[],
    $19::timestamptz[], $20::text[], $21::text[])
RETURNING *
"""


async def lock_chains(conn: asyncpg.Connection, keys: list[ChainKey]) -> dict[ChainKey, ChainHead]:
    """The heads of these member-years, created when new and locked FOR UPDATE in key order
    (so two runs over the same members cannot deadlock): two statements."""
    ordered = sorted(set(keys))
    members, years = [k[0] for k in ordered], [k[1] for k in ordered]
    await conn.execute(
        "INSERT INTO points_chain (member_id, year, head_hash) "
        "SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[]) ON CONFLICT DO NOTHING",
        members,
        years,
        [genesis_hash(m, y) for m, y in ordered],
    )
    rows = await conn.fetch(
        """SELECT c.member_id, c.year, c.head_hash, c.length, c.balance
           FROM points_chain c JOIN unnest($1::uuid[], $2::int[]) AS k(m, y)
             ON c.member_id = k.m AND c.year = k.y
           ORDER BY c.member_id, c.year FOR UPDATE OF c""",
        members,
        years,
    )
    return {
        (r["member_id"], r["year"]): ChainHead(
            r["member_id"], r["year"], r["head_hash"], r["length"], r["balance"]
        )
        for r in rows
    }


class ChainAppends:
    """Appends to chains locked by `lock_chains`, in order, in memory; `write` then stores
    every entry and every moved head with one statement each."""

    def __init__(self, heads: dict[ChainKey, ChainHead]) -> None:
        self.heads = dict(heads)
        self.moved: set[ChainKey] = set()
        self.rows: list[tuple[Any, ...]] = []

    def add(self, new: NewEntry) -> UUID:
        key = (new.member_id, new.year)
        head = self.heads[key]
        content = _content_of(new, head)
        digest = entry_hash(head.head_hash, content)
        self.rows.append(_entry_args(content, new, head.head_hash, digest))
        self.heads[key] = ChainHead(
            head.member_id, head.year, digest, content.seq, head.balance + content.points
        )
        self.moved.add(key)
        return content.entry_id

    async def write(self, conn: asyncpg.Connection) -> dict[UUID, asyncpg.Record]:
        if not self.rows:
            return {}
        columns = [list(c) for c in zip(*self.rows, strict=True)]
        rows = await conn.fetch(_APPEND_MANY, *columns)
        heads = [self.heads[k] for k in sorted(self.moved)]
        await conn.execute(
            """UPDATE points_chain c SET head_hash = h.hash, length = h.length, balance = h.balance
               FROM unnest($1::uuid[], $2::int[], $3::text[], $4::int[], $5::numeric[])
                 AS h(member_id, year, hash, length, balance)
               WHERE c.member_id = h.member_id AND c.year = h.year""",
            [h.member_id for h in heads],
            [h.year for h in heads],
            [h.head_hash for h in heads],
            [h.length for h in heads],
            [h.balance for h in heads],
        )
        return {r["entry_id"]: r for r in rows}


def _content_of(new: NewEntry, head: ChainHead) -> EntryContent:
    return EntryContent(
        entry_id=uuid7(),
        member_id=new.member_id,
        year=new.year,
        seq=head.length + 1,
        kind=new.kind,
        points=points(new.points),
        reason=new.reason,
        cause_event_id=new.cause_event_id,
        rule_code=new.rule_code,
        rule_set_version=new.rule_set_version,
        community_id=new.community_id,
        unit_id=new.unit_id,
        business_date=new.business_date,
        capped=new.capped,
        reverses_entry_id=new.reverses_entry_id,
        recorded_at=new.recorded_at,
    )


def _entry_args(
    content: EntryContent, new: NewEntry, prev_hash: str, digest: str
) -> tuple[Any, ...]:
    return (
        content.entry_id,
        content.member_id,
        content.year,
        content.seq,
        content.kind,
        content.points,
        content.reason,
        content.cause_event_id,
        content.rule_code,
        content.rule_set_version,
        new.category,
        new.source_id,
        content.community_id,
        content.unit_id,
        content.business_date,
        content.capped,
        new.cap_reason,
        content.reverses_entry_id,
        content.recorded_at,
        prev_hash,
        digest,
    )


async def awarded_causes(
    conn: asyncpg.Connection, keys: list[tuple[UUID, UUID, str]]
) -> set[tuple[UUID, UUID, str]]:
    """Of (cause_event_id, member_id, rule_code), those already in the journal."""
    if not keys:
        return set()
    rows = await conn.fetch(
        """SELECT e.cause_event_id, e.member_id, e.rule_code
           FROM points_entry e JOIN unnest($1::uuid[], $2::uuid[], $3::text[]) AS k(c, m, r)
             ON e.cause_event_id = k.c AND e.member_id = k.m AND e.rule_code = k.r""",
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
    )
    return {(r["cause_event_id"], r["member_id"], r["rule_code"]) for r in rows}


async def entry(conn: asyncpg.Connection, entry_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM points_entry WHERE entry_id = $1", entry_id)


async def community_of_entry(conn: asyncpg.Connection, entry_id: UUID) -> UUID | None:
    """The community an entry counts for; None when there is no such entry."""
    found: UUID | None = await conn.fetchval(
        "SELECT community_id FROM points_entry WHERE entry_id = $1", entry_id
    )
    return found


async def reversal_of(conn: asyncpg.Connection, entry_id: UUID) -> UUID | None:
    """The entry that reverses `entry_id`, if any."""
    found: UUID | None = await conn.fetchval(
        "SELECT entry_id FROM points_entry WHERE reverses_entry_id = $1", entry_id
    )
    return found


async def balance(conn: asyncpg.Connection, member_id: UUID, year: int) -> Decimal | None:
    """A member-year's balance; None before its first entry."""
    found: Decimal | None = await conn.fetchval(
        "SELECT balance FROM points_chain WHERE member_id = $1 AND year = $2", member_id, year
    )
    return found


async def of_member_year(
    conn: asyncpg.Connection, member_id: UUID, year: int, *, limit: int, offset: int
) -> Slice:
    return await fetch_slice(
        conn,
        """SELECT *, count(*) OVER () AS total_rows FROM points_entry
           WHERE member_id = $1 AND year = $2 ORDER BY seq""",
        member_id,
        year,
        limit=limit,
        offset=offset,
    )


async def of_member(conn: asyncpg.Connection, member_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM points_entry WHERE member_id = $1 ORDER BY year, seq", member_id
    )
    return rows


# Each member's sum and count, and over all the party's members (window functions run before
# LIMIT) how many members and how many points in all.
_TOTALS_BY = {  # the party column an entry recorded: the member's at the time of the award
    "community_id": """SELECT member_id, sum(points) AS balance, count(*) AS entries,
            count(*) OVER () AS total_rows, sum(sum(points)) OVER () AS points_total
        FROM points_entry WHERE community_id = $1 AND year = $2
        GROUP BY member_id ORDER BY member_id""",
    "unit_id": """SELECT member_id, sum(points) AS balance, count(*) AS entries,
            count(*) OVER () AS total_rows, sum(sum(points)) OVER () AS points_total
        FROM points_entry WHERE unit_id = $1 AND year = $2
        GROUP BY member_id ORDER BY member_id""",
}


async def totals(
    conn: asyncpg.Connection, column: str, party_id: UUID, year: int, *, limit: int, offset: int
) -> Slice:
    """Each member's sum and count of entries of `year` recorded for the party in `column`
    (`community_id` or `unit_id`); each row also carries `points_total`, the party's sum."""
    return await fetch_slice(conn, _TOTALS_BY[column], party_id, year, limit=limit, offset=offset)


async def points_total(conn: asyncpg.Connection, column: str, party_id: UUID, year: int) -> Decimal:
    """The party's sum, for a page past the end (which carries no row to read it from)."""
    assert column in _TOTALS_BY  # a column name, never input
    total = await conn.fetchval(
        f"SELECT coalesce(sum(points), 0) FROM points_entry WHERE {column} = $1 AND year = $2",
        party_id,
        year,
    )
    return Decimal(total)


# --- verification reads ------------------------------------------------------------------


async def heads_of_year(conn: asyncpg.Connection, year: int) -> dict[UUID, ChainHead]:
    return {
        r["member_id"]: ChainHead(r["member_id"], year, r["head_hash"], r["length"], r["balance"])
        for r in await conn.fetch(
            "SELECT member_id, head_hash, length, balance FROM points_chain WHERE year = $1", year
        )
    }


async def chain_of_member_year(
    conn: asyncpg.Connection, member_id: UUID, year: int
) -> tuple[dict[UUID, ChainHead], list[ChainedEntry]]:
    """One member-year's head (none before its first entry) and entries by seq, from one
    snapshot."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        head = await conn.fetchrow(
            "SELECT head_hash, length, balance FROM points_chain WHERE member_id = $1 AND year = $2",
            member_id,
            year,
        )
        rows = await conn.fetch(
            "SELECT * FROM points_entry WHERE member_id = $1 AND year = $2 ORDER BY seq",
            member_id,
            year,
        )
    heads = (
        {}
        if head is None
        else {
            member_id: ChainHead(
                member_id, year, head["head_hash"], head["length"], head["balance"]
            )
        }
    )
    return heads, [_chained(r) for r in rows]


@asynccontextmanager
async def entries_of_year(
    conn: asyncpg.Connection, year: int
) -> AsyncIterator[AsyncIterator[ChainedEntry]]:
    """The year's entries by member and seq, streamed from one snapshot (a savepoint when the
    caller is already in a transaction); iterate them inside the `async with`."""
    nested = conn.is_in_transaction()
    tx = (
        conn.transaction()
        if nested
        else conn.transaction(isolation="repeatable_read", readonly=True)
    )
    async with tx:
        cursor = conn.cursor(
            "SELECT * FROM points_entry WHERE year = $1 ORDER BY member_id, seq", year
        )
        yield (_chained(row) async for row in cursor)


def _chained(row: asyncpg.Record) -> ChainedEntry:
    return ChainedEntry(
        content=EntryContent(
            entry_id=row["entry_id"],
            member_id=row["member_id"],
            year=row["year"],
            seq=row["seq"],
            kind=row["kind"],
            points=row["points"],
            reason=row["reason"],
            cause_event_id=row["cause_event_id"],
            rule_code=row["rule_code"],
            rule_set_version=row["rule_set_version"],
            community_id=row["community_id"],
            unit_id=row["unit_id"],
            business_date=row["business_date"],
            capped=row["capped"],
            reverses_entry_id=row["reverses_entry_id"],
            recorded_at=row["recorded_at"],
        ),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )
