"""The fulfilment ledger in PostgreSQL: journal, commitment states and daily deltas."""

from __future__ import annotations

from collections import defaultdict
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
_COLS = ", ".join(MEASURES)
_SUMS = ", ".join(f"COALESCE(sum({m}), 0)::bigint AS {m}" for m in MEASURES)
_UPSERT = f"""
INSERT INTO ledger_daily (scope_kind, scope_id, day, {_COLS})
VALUES ($1, $2, $3, {", ".join(f"${i + 4}" for i in range(len(MEASURES)))})
ON CONFLICT (scope_kind, scope_id, day) DO UPDATE SET
{", ".join(f"{m} = ledger_daily.{m} + EXCLUDED.{m}" for m in MEASURES)}
"""
_STATE_COLS = (
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
        f"SELECT {_STATE_COLS} FROM ledger_commitments WHERE commitment_id = $1 FOR UPDATE",
        commitment_id,
    )
    if row is None:
        if not isinstance(fact, Opened):
            # Same key, same partition: a fact before its open means a broken producer.
            raise ValueError(f"{_kind(fact)} for unknown commitment {commitment_id}")
        state, deltas = open_commitment(fact)
    else:
        state, deltas = apply_fact(_state(row), fact)
    await _save_state(conn, state)
    await _add_deltas(conn, state, deltas)


def _state(row: asyncpg.Record) -> CommitmentState:
    d = dict(row)
    for k in ("commitment_id", "agreement_id", "community_id", "unit_id", "beneficiary_party_id"):
        d[k] = str(d[k])
    return CommitmentState(**d)


async def _save_state(conn: asyncpg.Connection, s: CommitmentState) -> None:
    await conn.execute(
        f"""INSERT INTO ledger_commitments ({_STATE_COLS})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
            ON CONFLICT (commitment_id) DO UPDATE SET fulfilled_on = EXCLUDED.fulfilled_on,
              credited_fen = EXCLUDED.credited_fen, on_time = EXCLUDED.on_time,
              cancelled_on = EXCLUDED.cancelled_on, flagged_on = EXCLUDED.flagged_on""",
        *_state_args(s),
    )


def _state_args(s: CommitmentState) -> tuple[Any, ...]:
    return (
        UUID(s.commitment_id),
        UUID(s.agreement_id),
        UUID(s.community_id),
        UUID(s.unit_id),
        UUID(s.beneficiary_party_id),
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


# --- rebuild --------------------------------------------------------------------------


async def rebuild(conn: asyncpg.Connection) -> dict[str, int]:
    """Recompute commitment states and daily deltas from the journal alone (one transaction).

    Incremental upkeep and this replay share the domain functions, so they must agree."""
    await conn.execute("LOCK TABLE ledger_journal IN SHARE ROW EXCLUSIVE MODE")
    entries = await conn.fetch(
        "SELECT commitment_id, fact, data FROM ledger_journal ORDER BY commitment_id, id"
    )
    states: dict[UUID, CommitmentState] = {}
    totals: dict[tuple[str, UUID, date], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(MEASURES, 0)
    )
    for e in entries:
        fact = fact_from(e["fact"], e["data"])
        current = states.get(e["commitment_id"])
        if current is None:
            if not isinstance(fact, Opened):
                continue
            state, deltas = open_commitment(fact)
        else:
            state, deltas = apply_fact(current, fact)
        states[e["commitment_id"]] = state
        for kind, sid in _scopes(state):
            for d in deltas:
                totals[(kind, sid, d.day)][d.measure] += d.amount
    await conn.execute("TRUNCATE ledger_daily, ledger_commitments")
    await conn.copy_records_to_table(
        "ledger_commitments",
        records=[_state_args(s) for s in states.values()],
        columns=[c.strip() for c in _STATE_COLS.split(",")],
    )
    await conn.copy_records_to_table(
        "ledger_daily",
        records=[(k, sid, day, *(v[m] for m in MEASURES)) for (k, sid, day), v in totals.items()],
        columns=["scope_kind", "scope_id", "day", *MEASURES],
    )
    return {"journal_entries": len(entries), "commitments": len(states), "rows": len(totals)}
