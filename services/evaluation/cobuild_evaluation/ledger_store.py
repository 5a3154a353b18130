"""The fulfilment ledger in PostgreSQL: journal, commitment states and daily deltas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from cobuild_evaluation.domain.ledger import (
    MEASURES,
    Cancelled,
    CommitmentState,
    Delta,
    Fact,
    Figures,
    FlaggedOverdue,
    Fulfilled,
    Opened,
    aggregate,
    apply_fact,
    open_commitment,
)

ALL_SCOPE = UUID(int=0)
MEASURE_COLS = ", ".join(MEASURES)
# As-of figures. A count's sum stays within bigint (one per commitment and fact). The money
# columns are numeric (migration 0006) and so are their sums, never cast back to bigint:
# the whole ledger's value over every day may exceed 2^63 fen without an error (RELIABILITY.md,
# "Hardening: numeric bounds"); Python turns them into ints of any size.
_SUMS = ", ".join(
    f"COALESCE(sum({m}), 0){'' if m.endswith('_fen') else '::bigint'} AS {m}" for m in MEASURES
)
_UPSERT = f"""
INSERT INTO ledger_daily (scope_kind, scope_id, day, {MEASURE_COLS})
VALUES ($1, $2, $3, {", ".join(f"${i + 4}" for i in range(len(MEASURES)))})
ON CONFLICT (scope_kind, scope_id, day) DO UPDATE SET
{", ".join(f"{m} = ledger_daily.{m} + EXCLUDED.{m}" for m in MEASURES)}
"""
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


def _kind(fact: Fact) -> str:
    return {Opened: "opened", Fulfilled: "fulfilled", Cancelled: "cancelled"}.get(
        type(fact), "overdue"
    )


async def record(conn: asyncpg.Connection, event_id: UUID, commitment_id: UUID, fact: Fact) -> None:
    """Journal one fact and move the aggregates, in the caller's transaction."""
    inserted = await conn.fetchval(
        """INSERT INTO ledger_journal (event_id, commitment_id, fact, business_day, data)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO NOTHING RETURNING id""",
        event_id,
        commitment_id,
        _kind(fact),
        fact.day,
        fact_data(fact),
    )
    if inserted is None:
        return
    row = await conn.fetchrow(
        f"SELECT {STATE_COLS} FROM ledger_commitments WHERE commitment_id = $1 FOR UPDATE",
        commitment_id,
    )
    if row is None:
        if not isinstance(fact, Opened):
            # Same key, same partition: a fact before its open means a broken producer.
            raise ValueError(f"{_kind(fact)} for unknown commitment {commitment_id}")
        state, deltas = open_commitment(fact)
        await note_agreements(conn, [state])
    else:
        state, deltas = apply_fact(_state(row), fact)
    await _save_state(conn, state)
    await _add_deltas(conn, state, deltas)


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


def _state(row: asyncpg.Record) -> CommitmentState:
    d = dict(row)
    for k in ("commitment_id", "agreement_id", "community_id", "unit_id", "beneficiary_party_id"):
        d[k] = str(d[k])
    return CommitmentState(**d)


async def _save_state(conn: asyncpg.Connection, s: CommitmentState) -> None:
    await conn.execute(
        f"""INSERT INTO ledger_commitments ({STATE_COLS})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
            ON CONFLICT (commitment_id) DO UPDATE SET fulfilled_on = EXCLUDED.fulfilled_on,
              credited_fen = EXCLUDED.credited_fen, on_time = EXCLUDED.on_time,
              cancelled_on = EXCLUDED.cancelled_on, flagged_on = EXCLUDED.flagged_on""",
        *state_args(s),
    )


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


def _scopes(s: CommitmentState) -> list[tuple[str, UUID]]:
    return [
        ("commitment", UUID(s.commitment_id)),
        ("agreement", UUID(s.agreement_id)),
        ("unit", UUID(s.unit_id)),
        ("community", UUID(s.community_id)),
        ("all", ALL_SCOPE),
    ]


def _rows(s: CommitmentState, per_day: dict[date, dict[str, int]]) -> list[tuple[Any, ...]]:
    return [
        (kind, sid, day, *(sums[m] for m in MEASURES))
        for kind, sid in _scopes(s)
        for day, sums in sorted(per_day.items())
    ]


async def _add_deltas(conn: asyncpg.Connection, s: CommitmentState, deltas: list[Delta]) -> None:
    if deltas:
        await conn.executemany(_UPSERT, _rows(s, aggregate(deltas)))


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
