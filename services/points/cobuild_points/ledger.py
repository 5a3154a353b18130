"""The points journal: append-only, hash-chained per member and year.

Appending locks the chain's head row (`points_chain`, SELECT … FOR UPDATE), so two consumers
awarding the same member at once queue up instead of forking the chain. `verify` walks every
chain of a year and names the first entry that does not hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
from cobuild_contracts import uuid7
from cobuild_kit.errors import Conflict, NotFound

from cobuild_points.domain.chain import EntryContent, entry_hash, genesis_hash
from cobuild_points.domain.rules import ZERO, points


@dataclass(frozen=True)
class ChainHead:
    member_id: UUID
    year: int
    head_hash: str
    length: int
    balance: Decimal


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


async def lock_chain(conn: asyncpg.Connection, member_id: UUID, year: int) -> ChainHead:
    await conn.execute(
        "INSERT INTO points_chain (member_id, year, head_hash) VALUES ($1, $2, $3) "
        "ON CONFLICT DO NOTHING",
        member_id,
        year,
        genesis_hash(member_id, year),
    )
    row = await conn.fetchrow(
        "SELECT head_hash, length, balance FROM points_chain "
        "WHERE member_id = $1 AND year = $2 FOR UPDATE",
        member_id,
        year,
    )
    assert row is not None
    return ChainHead(member_id, year, row["head_hash"], row["length"], row["balance"])


async def append(conn: asyncpg.Connection, head: ChainHead, new: NewEntry) -> asyncpg.Record:
    """Append under a head locked by `lock_chain` in this transaction."""
    assert (head.member_id, head.year) == (new.member_id, new.year)
    content = _content_of(new, head)
    digest = entry_hash(head.head_hash, content)
    row = await conn.fetchrow(
        """INSERT INTO points_entry (entry_id, member_id, year, seq, kind, points, reason,
               cause_event_id, rule_code, rule_set_version, category, source_id, community_id,
               unit_id, business_date, capped, cap_reason, reverses_entry_id, recorded_at,
               prev_hash, hash)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21)
           RETURNING *""",
        *_entry_args(content, new, head.head_hash, digest),
    )
    await conn.execute(
        "UPDATE points_chain SET head_hash = $3, length = length + 1, balance = balance + $4 "
        "WHERE member_id = $1 AND year = $2",
        new.member_id,
        new.year,
        digest,
        content.points,
    )
    assert row is not None
    return row


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
    """`lock_chain` for many member-years: two statements, heads locked in key order."""
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
    every entry and every moved head with one statement each (as `append` would, one by one)."""

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


async def already_awarded(
    conn: asyncpg.Connection, cause_event_id: UUID, member_id: UUID, rule_code: str
) -> bool:
    found = await conn.fetchval(
        "SELECT 1 FROM points_entry WHERE cause_event_id = $1 AND member_id = $2 AND rule_code = $3",
        cause_event_id,
        member_id,
        rule_code,
    )
    return found is not None


async def reverse(
    conn: asyncpg.Connection, entry_id: UUID, *, reason: str, at: datetime, business_day: date
) -> tuple[asyncpg.Record, asyncpg.Record]:
    """(reversal, original): a negative entry in the original's member-year chain."""
    original = await conn.fetchrow("SELECT * FROM points_entry WHERE entry_id = $1", entry_id)
    if original is None:
        raise NotFound(f"points entry {entry_id} not found")
    if original["kind"] != "award":
        raise Conflict("entry is a reversal: reversals are not reversed")
    head = await lock_chain(conn, original["member_id"], original["year"])
    done = await conn.fetchval(
        "SELECT entry_id FROM points_entry WHERE reverses_entry_id = $1", entry_id
    )
    if done is not None:
        raise Conflict(f"entry is already reversed (by entry {done})")
    reversal = await append(
        conn,
        head,
        NewEntry(
            member_id=original["member_id"],
            year=original["year"],
            kind="reversal",
            points=-original["points"],
            reason=reason,
            cause_event_id=uuid7(),
            rule_code=original["rule_code"],
            rule_set_version=original["rule_set_version"],
            category=original["category"],
            source_id=original["source_id"],
            community_id=original["community_id"],
            unit_id=original["unit_id"],
            business_date=business_day,
            recorded_at=at,
            reverses_entry_id=entry_id,
        ),
    )
    return reversal, original


# --- verification ----------------------------------------------------------------------


@dataclass(frozen=True)
class BadEntry:
    member_id: UUID
    entry_id: UUID | None
    seq: int | None
    problem: str


@dataclass(frozen=True)
class VerifyReport:
    year: int
    ok: bool
    chains_checked: int
    entries_checked: int
    first_bad: BadEntry | None

    def as_dict(self) -> dict[str, Any]:
        bad = self.first_bad
        return {
            "year": self.year,
            "ok": self.ok,
            "chains_checked": self.chains_checked,
            "entries_checked": self.entries_checked,
            "first_bad": None
            if bad is None
            else {
                "member_id": str(bad.member_id),
                "entry_id": str(bad.entry_id) if bad.entry_id else None,
                "seq": bad.seq,
                "problem": bad.problem,
            },
        }


def _content(row: asyncpg.Record) -> EntryContent:
    return EntryContent(
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
    )


class _ChainWalk:
    """One member-year chain, fed its entries in seq order."""

    def __init__(self, member_id: UUID, year: int) -> None:
        self.member_id = member_id
        self.prev = genesis_hash(member_id, year)
        self.seq = 0
        self.balance = ZERO
        self.last: asyncpg.Record | None = None

    def feed(self, row: asyncpg.Record) -> BadEntry | None:
        self.seq += 1
        bad = self._check(row)
        self.prev, self.last = row["hash"], row
        self.balance += row["points"]
        return bad

    def _check(self, row: asyncpg.Record) -> BadEntry | None:
        def bad(problem: str) -> BadEntry:
            return BadEntry(self.member_id, row["entry_id"], row["seq"], problem)

        if row["seq"] != self.seq:
            return bad(f"seq {row['seq']} where {self.seq} was expected: an entry was removed")
        if row["prev_hash"] != self.prev:
            return bad(
                "prev_hash does not match the previous entry: an entry was removed or altered"
            )
        if entry_hash(self.prev, _content(row)) != row["hash"]:
            return bad("the entry's content does not match its hash: it was altered")
        if (row["kind"] == "award") != (row["points"] > 0):
            return bad("the entry's sign does not match its kind")
        return None

    def close(self, head: asyncpg.Record | None) -> BadEntry | None:
        last_id = self.last["entry_id"] if self.last is not None else None
        last_seq = self.last["seq"] if self.last is not None else None
        if head is None:
            return BadEntry(self.member_id, last_id, last_seq, "the chain has no head row")
        if head["head_hash"] != self.prev or head["length"] != self.seq:
            return BadEntry(
                self.member_id,
                last_id,
                last_seq,
                "the chain head does not match its last entry: an entry at the end was removed",
            )
        if head["balance"] != self.balance:
            return BadEntry(self.member_id, last_id, last_seq, "the chain balance was altered")
        return None


async def verify(conn: asyncpg.Connection, year: int) -> VerifyReport:
    """Walk every member chain of `year`; the report names the first bad entry, if any."""
    heads = {
        r["member_id"]: r
        for r in await conn.fetch(
            "SELECT member_id, head_hash, length, balance FROM points_chain WHERE year = $1", year
        )
    }
    chains = entries = 0
    walk: _ChainWalk | None = None
    seen: set[UUID] = set()

    def done(report_bad: BadEntry | None) -> VerifyReport:
        return VerifyReport(year, report_bad is None, chains, entries, report_bad)

    # One snapshot for the whole walk (a savepoint when the caller is already in a transaction).
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
        async for row in cursor:
            entries += 1
            if walk is None or walk.member_id != row["member_id"]:
                if walk is not None and (bad := walk.close(heads.get(walk.member_id))):
                    return done(bad)
                walk = _ChainWalk(row["member_id"], year)
                seen.add(walk.member_id)
                chains += 1
            if bad := walk.feed(row):
                return done(bad)
        if walk is not None and (bad := walk.close(heads.get(walk.member_id))):
            return done(bad)
    for member_id in sorted(set(heads) - seen):
        if heads[member_id]["length"] != 0:
            return done(BadEntry(member_id, None, None, "the chain's entries were removed"))
    return done(None)
