"""The fulfilment ledger's tables: the journal, commitment states, the agreements commitments
name, and the daily deltas per scope; appended in runs (one statement per table) and read as
of a date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
from cobuild_kit.db import dumps

from cobuild_evaluation.domain.ledger import (
    ALL_SCOPE,
    MEASURES,
    Cancelled,
    CommitmentState,
    Delta,
    Fact,
    Figures,
    FlaggedOverdue,
    Fulfilled,
    Opened,
)

MEASURE_COLS = ", ".join(MEASURES)
# As-of figures. A count's sum stays within bigint (one per commitment and fact). The money
# columns are numeric (migration 0006) and so are their sums, never cast back to bigint:
# the whole ledger's value over every day may exceed 2^63 fen without an error (RELIABILITY.md,
# "Hardening: numeric bounds"); Python turns them into ints of any size.
_SUMS = ", ".join(
    f"COALESCE(sum({m}), 0){'' if m.endswith('_fen') else '::bigint'} AS {m}" for m in MEASURES
)
STATE_COLS = (
    "commitment_id, agreement_id, community_id, unit_id, beneficiary_party_id, deadline, "
    "committed_fen, opened_on, fulfilled_on, credited_fen, on_time, cancelled_on, flagged_on"
)


def fact_data(fact: Fact) -> dict[str, Any]:
    """A journal entry's payload: everything a rebuild needs to derive the same deltas."""
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in vars(fact).items()}


def fact_from(kind: str, data: dict[str, Any]) -> Fact:
    d = {k: (date.fromisoformat(v) if k in ("day", "deadline") else v) for k, v in data.items()}
    cls: type[Any] = {
        "opened": Opened,
        "fulfilled": Fulfilled,
        "cancelled": Cancelled,
        "overdue": FlaggedOverdue,
    }[kind]
    fact: Fact = cls(**d)
    return fact


def fact_kind(fact: Fact) -> str:
    return {Opened: "opened", Fulfilled: "fulfilled", Cancelled: "cancelled"}.get(
        type(fact), "overdue"
    )


_NOTE_AGREEMENTS = """
INSERT INTO ledger_agreements (agreement_id, community_id, unit_id)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[])
ON CONFLICT (agreement_id) DO NOTHING
"""


async def note_agreements(conn: asyncpg.Connection, opened: list[CommitmentState]) -> None:
    """Record the agreements (and their parties) that newly opened commitments name."""
    parties = {s.agreement_id: (s.community_id, s.unit_id) for s in opened}
    if not parties:
        return
    ids = sorted(parties)  # a fixed lock order (canonical UUID text sorts as the UUID does)
    await conn.execute(
        _NOTE_AGREEMENTS,
        ids,
        [parties[a][0] for a in ids],
        [parties[a][1] for a in ids],
    )


def state_of(row: asyncpg.Record) -> CommitmentState:
    d = dict(row)
    for k in ("commitment_id", "agreement_id", "community_id", "unit_id", "beneficiary_party_id"):
        d[k] = str(d[k])
    return CommitmentState(**d)


def state_args(s: CommitmentState) -> tuple[Any, ...]:
    # The ids stay text: asyncpg encodes a uuid column from its text as well, and parsing
    # five UUIDs per commitment was a tenth of a rebuild.
    return (
        s.commitment_id,
        s.agreement_id,
        s.community_id,
        s.unit_id,
        s.beneficiary_party_id,
        s.deadline,
        s.committed_fen,
        s.opened_on,
        s.fulfilled_on,
        s.credited_fen,
        s.on_time,
        s.cancelled_on,
        s.flagged_on,
    )


# --- appending a run of facts -----------------------------------------------------------

# (event id, commitment id, fact), in the order the events were delivered.
Entry = tuple[UUID, UUID, Fact]

_JOURNAL = """
INSERT INTO ledger_journal (event_id, commitment_id, fact, business_day, data)
SELECT e, c, f, d, j::jsonb
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::date[], $5::text[]) WITH ORDINALITY
     AS t(e, c, f, d, j, n)
ORDER BY n
ON CONFLICT (event_id) DO NOTHING RETURNING event_id
"""
_STATE_TYPES = (
    "uuid[]", "uuid[]", "uuid[]", "uuid[]", "uuid[]", "date[]", "bigint[]", "date[]", "date[]",
    "bigint[]", "boolean[]", "date[]", "date[]",
)  # fmt: skip
_SAVE_STATES = f"""
INSERT INTO ledger_commitments ({STATE_COLS})
SELECT * FROM unnest({", ".join(f"${i + 1}::{t}" for i, t in enumerate(_STATE_TYPES))})
ON CONFLICT (commitment_id) DO UPDATE SET fulfilled_on = EXCLUDED.fulfilled_on,
  credited_fen = EXCLUDED.credited_fen, on_time = EXCLUDED.on_time,
  cancelled_on = EXCLUDED.cancelled_on, flagged_on = EXCLUDED.flagged_on
"""
# Each fact's deltas go over summed per day, with its scopes' ids once; the database fans a
# day's row out to the fact's five scopes and sums per (scope, day). Summed per (scope, day)
# in Python they were ten rows of sixteen values per fact, and building and encoding them
# (asyncpg checks every array element's type in Python) was half of a batch's handler. A run
# of 20,000 fulfilments, CPU per event: Python 91-108 -> 68-77 us, PostgreSQL 59-66 -> 71-81
# with sum(); ledger_total (migration 0005) then took 7 ms off each 500-fact statement.
_ADD_DAILY = f"""
WITH f AS (
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[]) WITH ORDINALITY
    AS f(c, a, u, co, n)
), d AS (
  SELECT * FROM unnest($5::bigint[], $6::date[],
                       {", ".join(f"${i + 7}::bigint[]" for i in range(len(MEASURES)))})
    AS d(n, day, {", ".join(MEASURES)})
)
INSERT INTO ledger_daily (scope_kind, scope_id, day, {", ".join(MEASURES)})
SELECT s.kind, s.id, d.day, {", ".join(f"ledger_total(d.{m})" for m in MEASURES)}
FROM d JOIN f USING (n)
CROSS JOIN LATERAL (VALUES ('commitment', f.c), ('agreement', f.a), ('unit', f.u),
                           ('community', f.co), ('all', '{ALL_SCOPE}'::uuid)) AS s(kind, id)
GROUP BY s.kind, s.id, d.day
ORDER BY s.kind, s.id, d.day  -- a fixed lock order
ON CONFLICT (scope_kind, scope_id, day) DO UPDATE SET
{", ".join(f"{m} = ledger_daily.{m} + EXCLUDED.{m}" for m in MEASURES)}
"""


async def journal(conn: asyncpg.Connection, entries: list[Entry]) -> set[UUID]:
    """Journal the entries (one per event id); returns the event ids that were new."""
    rows = await conn.fetch(
        _JOURNAL,
        [e for e, _, _ in entries],
        [c for _, c, _ in entries],
        [fact_kind(f) for _, _, f in entries],
        [f.day for _, _, f in entries],
        [dumps(fact_data(f)) for _, _, f in entries],
    )
    return {r["event_id"] for r in rows}


async def lock_states(conn: asyncpg.Connection, ids: list[UUID]) -> dict[UUID, CommitmentState]:
    """The known commitments among `ids`, locked (in the order given: a fixed lock order)."""
    rows = await conn.fetch(
        f"""SELECT {STATE_COLS} FROM ledger_commitments WHERE commitment_id = ANY($1::uuid[])
            ORDER BY commitment_id FOR UPDATE""",
        ids,
    )
    return {r["commitment_id"]: state_of(r) for r in rows}


async def save_states(conn: asyncpg.Connection, states: list[CommitmentState]) -> None:
    columns = list(zip(*(state_args(s) for s in states), strict=True))
    await conn.execute(_SAVE_STATES, *(list(c) for c in columns))


_INDEX = {m: i for i, m in enumerate(MEASURES)}


class Moves:
    """The daily rows a run moves, as `_ADD_DAILY` takes them: each moving fact's scope ids,
    and its deltas summed per day."""

    def __init__(self) -> None:
        self.ids: tuple[list[str], list[str], list[str], list[str]] = ([], [], [], [])
        self.n: list[int] = []  # the fact's ordinal among them (WITH ORDINALITY's n)
        self.day: list[date] = []
        self.sums: list[list[int]] = []

    @property
    def facts(self) -> int:
        return len(self.ids[0])

    def add(self, state: CommitmentState, deltas: list[Delta]) -> None:
        for column, value in zip(self.ids, _scope_ids(state), strict=True):
            column.append(value)
        days: dict[date, list[int]] = {}
        for d in deltas:
            sums = days.get(d.day)
            if sums is None:
                sums = days[d.day] = [0] * len(MEASURES)
            sums[_INDEX[d.measure]] += d.amount
        for day, sums in days.items():
            self.n.append(self.facts)
            self.day.append(day)
            self.sums.append(sums)

    def columns(self) -> tuple[list[Any], ...]:
        per_measure = [[s[i] for s in self.sums] for i in range(len(MEASURES))]
        return (*self.ids, self.n, self.day, *per_measure)


def _scope_ids(s: CommitmentState) -> tuple[str, str, str, str]:
    """The ids of its commitment, agreement, unit and community scopes ('all' is fixed)."""
    return s.commitment_id, s.agreement_id, s.unit_id, s.community_id


async def add_daily(conn: asyncpg.Connection, moves: Moves) -> None:
    if moves.facts:
        await conn.execute(_ADD_DAILY, *moves.columns())


# --- one commitment --------------------------------------------------------------------


async def parties_of_commitment(
    conn: asyncpg.Connection, commitment_id: UUID
) -> tuple[UUID, UUID] | None:
    """(community, unit) of a known commitment."""
    row = await conn.fetchrow(
        "SELECT community_id, unit_id FROM ledger_commitments WHERE commitment_id = $1",
        commitment_id,
    )
    return None if row is None else (row["community_id"], row["unit_id"])


async def standing(conn: asyncpg.Connection, commitment_id: UUID) -> asyncpg.Record | None:
    """Its beneficiary and whether it is fulfilled or cancelled."""
    return await conn.fetchrow(
        "SELECT beneficiary_party_id, fulfilled_on, cancelled_on FROM ledger_commitments WHERE commitment_id = $1",
        commitment_id,
    )


# --- queries --------------------------------------------------------------------------


async def figures(conn: asyncpg.Connection, kind: str, ids: list[UUID], as_of: date) -> Figures:
    """One scope's figures as of a date (several ids are summed: a street's communities)."""
    row = await conn.fetchrow(
        f"SELECT {_SUMS} FROM ledger_daily WHERE scope_kind = $1 AND scope_id = ANY($2) AND day <= $3",
        kind,
        ids,
        as_of,
    )
    assert row is not None
    return Figures({m: int(row[m]) for m in MEASURES})


async def figures_by_id(
    conn: asyncpg.Connection, kind: str, ids: list[UUID], as_of: date
) -> dict[UUID, Figures]:
    rows = await conn.fetch(
        f"""SELECT scope_id, {_SUMS} FROM ledger_daily
            WHERE scope_kind = $1 AND scope_id = ANY($2) AND day <= $3 GROUP BY scope_id""",
        kind,
        ids,
        as_of,
    )
    out = {i: Figures() for i in ids}
    for r in rows:
        out[r["scope_id"]] = Figures({m: int(r[m]) for m in MEASURES})
    return out


async def figures_by_group(
    conn: asyncpg.Connection, kind: str, groups: dict[UUID, list[UUID]], as_of: date
) -> dict[UUID, Figures]:
    """Each group's figures summed over its kept ids (a district's streets: their
    communities), in one statement."""
    members = [m for ids in groups.values() for m in ids]
    owners = [g for g, ids in groups.items() for _ in ids]
    rows = await conn.fetch(
        f"""SELECT g.owner AS scope_id, {_SUMS}
            FROM unnest($2::uuid[], $3::uuid[]) AS g(member, owner)
            CROSS JOIN LATERAL (SELECT * FROM ledger_daily d
                WHERE d.scope_kind = $1 AND d.scope_id = g.member AND d.day <= $4) d
            GROUP BY g.owner""",
        kind,
        members,
        owners,
        as_of,
    )
    out = {g: Figures() for g in groups}
    for r in rows:
        out[r["scope_id"]] = Figures({m: int(r[m]) for m in MEASURES})
    return out


# The drill-down below a community or unit (its agreements) and an agreement (its
# commitments): the children and their figures in one statement, in the view's order. The
# sums are a LATERAL per child, so the plan stays an index lookup per child (a join lets the
# planner hash the whole kind's rows instead).
_KID_SUMS = f"""CROSS JOIN LATERAL (SELECT {_SUMS} FROM ledger_daily d
        WHERE d.scope_kind = '%s' AND d.scope_id = k.id AND d.day <= $2) f"""
# A page of children ($3 rows after the first $4) is cut before the sums, so a community with
# thousands of agreements costs one page of index lookups, not thousands. count(*) OVER ()
# gives the whole number of children with the page. A party's agreements are those signed
# (agreements) and those its commitments name (ledger_agreements: they may arrive first).
_AGREEMENTS_OF = """WITH k AS (SELECT id, count(*) OVER () AS total FROM (
            SELECT agreement_id AS id FROM agreements WHERE {col} = $1
            UNION SELECT agreement_id FROM ledger_agreements WHERE {col} = $1) a
        ORDER BY id LIMIT $3 OFFSET $4) """
_DRILL_DOWN = {
    **{
        party: _AGREEMENTS_OF.format(col=f"{party}_id")
        + "SELECT k.id, k.total, f.* FROM k "
        + _KID_SUMS % "agreement"
        + " ORDER BY k.id"
        for party in ("community", "unit")
    },
    "agreement": """WITH k AS (
            SELECT commitment_id AS id, deadline, count(*) OVER () AS total
            FROM ledger_commitments WHERE agreement_id = $1
            ORDER BY deadline, commitment_id LIMIT $3 OFFSET $4)
        SELECT k.id, k.total, f.* FROM k """
    + _KID_SUMS % "commitment"
    + " ORDER BY k.deadline, k.id",
}


@dataclass(frozen=True)
class Page:
    """Which children of a drill-down to show: `limit` of them after the first `offset`."""

    limit: int | None = None  # None: all of them (exports)
    offset: int = 0


EVERY_CHILD = Page()


async def drill_down(
    conn: asyncpg.Connection, kind: str, sid: UUID, as_of: date, page: Page = EVERY_CHILD
) -> tuple[list[tuple[UUID, Figures]], int]:
    """The page of children with their figures, and how many children there are in all."""
    sql = _DRILL_DOWN[kind]
    rows = await conn.fetch(sql, sid, as_of, page.limit, page.offset)
    counted = rows
    if not rows and page.offset:  # past the end: the first child alone carries the count
        counted = await conn.fetch(sql, sid, as_of, 1, 0)
    total = int(counted[0]["total"]) if counted else 0
    return [(r["id"], Figures({m: int(r[m]) for m in MEASURES})) for r in rows], total


# --- by agreement origin ------------------------------------------------------------------

# The commitments of agreements of one origin (a joint meeting's decisions: 'meeting'), with
# their agreement and community, within scopes of one kind. The origin comes from
# agreement.signed (the agreements table); a commitment whose agreement the ledger has not
# heard signed yet is not counted until it has. Few commitments have a given origin, so the
# figures then sum their commitment rows (ledger_daily's 'commitment' scope).
_OF_ORIGIN = {
    "all": "a.origin = $1 AND $2::uuid[] IS NOT NULL",
    "community": "a.origin = $1 AND a.community_id = ANY($2)",
    "unit": "a.origin = $1 AND a.unit_id = ANY($2)",
    "agreement": "a.origin = $1 AND a.agreement_id = ANY($2)",
    "commitment": "a.origin = $1 AND c.commitment_id = ANY($2)",
}


async def of_origin(
    conn: asyncpg.Connection, kind: str, ids: list[UUID], origin: str
) -> list[asyncpg.Record]:
    """(commitment_id, agreement_id, community_id, deadline) of the origin's commitments in
    the scopes `ids` of `kind`, by deadline."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT c.commitment_id, c.agreement_id, c.community_id, c.deadline
            FROM agreements a JOIN ledger_commitments c ON c.agreement_id = a.agreement_id
            WHERE {_OF_ORIGIN[kind]} ORDER BY c.deadline, c.commitment_id""",
        origin,
        ids,
    )
    return rows
