"""Appending a run of facts to the fulfilment ledger with one statement per table.

The effect is exactly that of `ledger_store.record` applied to each fact in order: journal rows
in order (ids ascending), each commitment's state folded through its facts by the same domain
functions, and the daily rows of every (scope, day) a fact touched moved by the summed deltas.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from uuid import UUID

import asyncpg
from cobuild_kit.db import dumps

from cobuild_evaluation.domain.ledger import (
    MEASURES,
    CommitmentState,
    Fact,
    Opened,
    apply_fact,
    open_commitment,
)
from cobuild_evaluation.ledger_store import (
    STATE_COLS,
    _kind,
    _scopes,
    _state,
    fact_data,
    note_agreements,
    state_args,
)

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
_ADD_DAILY = f"""
INSERT INTO ledger_daily (scope_kind, scope_id, day, {", ".join(MEASURES)})
SELECT * FROM unnest($1::text[], $2::uuid[], $3::date[],
                     {", ".join(f"${i + 4}::bigint[]" for i in range(len(MEASURES)))})
ON CONFLICT (scope_kind, scope_id, day) DO UPDATE SET
{", ".join(f"{m} = ledger_daily.{m} + EXCLUDED.{m}" for m in MEASURES)}
"""

DailyKey = tuple[str, UUID, date]


async def record_many(conn: asyncpg.Connection, entries: list[Entry]) -> None:
    """Journal the facts and move the aggregates, in the caller's transaction."""
    if not entries:
        return
    fresh = await _journal(conn, entries)
    todo = [e for e in entries if e[0] in fresh]
    if not todo:
        return
    ids = sorted({cid for _, cid, _ in todo}, key=_uuid_order)
    rows = await conn.fetch(
        f"""SELECT {STATE_COLS} FROM ledger_commitments WHERE commitment_id = ANY($1::uuid[])
            ORDER BY commitment_id FOR UPDATE""",
        ids,
    )
    states: dict[UUID, CommitmentState] = {r["commitment_id"]: _state(r) for r in rows}
    changed: dict[UUID, CommitmentState] = {}
    opened: list[CommitmentState] = []
    totals: dict[DailyKey, list[int]] = defaultdict(lambda: [0] * len(MEASURES))
    for _, commitment_id, fact in todo:
        current = states.get(commitment_id)
        if current is None:
            if not isinstance(fact, Opened):
                # Same key, same partition: a fact before its open means a broken producer.
                raise ValueError(f"{_kind(fact)} for unknown commitment {commitment_id}")
            state, deltas = open_commitment(fact)
            opened.append(state)
        else:
            state, deltas = apply_fact(current, fact)
        states[commitment_id] = changed[commitment_id] = state
        for kind, sid in _scopes(state) if deltas else ():
            for d in deltas:
                totals[(kind, sid, d.day)][_INDEX[d.measure]] += d.amount
    await note_agreements(conn, opened)
    await _save_states(conn, list(changed.values()))
    await _add_daily(conn, totals)


_INDEX = {m: i for i, m in enumerate(MEASURES)}


# UUID order is its integer's order (and PostgreSQL's); comparing the ints skips the Python
# methods UUID.__lt__ and __eq__ (a run of 20,000 fulfilments: 139 → 133 µs of Python each).
def _uuid_order(u: UUID) -> int:
    return u.int


def _daily_order(k: DailyKey) -> tuple[str, int, date]:
    return k[0], k[1].int, k[2]


async def _journal(conn: asyncpg.Connection, entries: list[Entry]) -> set[UUID]:
    rows = await conn.fetch(
        _JOURNAL,
        [e for e, _, _ in entries],
        [c for _, c, _ in entries],
        [_kind(f) for _, _, f in entries],
        [f.day for _, _, f in entries],
        [dumps(fact_data(f)) for _, _, f in entries],
    )
    return {r["event_id"] for r in rows}


async def _save_states(conn: asyncpg.Connection, states: list[CommitmentState]) -> None:
    columns = list(zip(*(state_args(s) for s in states), strict=True))
    await conn.execute(_SAVE_STATES, *(list(c) for c in columns))


async def _add_daily(conn: asyncpg.Connection, totals: dict[DailyKey, list[int]]) -> None:
    if not totals:
        return
    keys = sorted(totals, key=_daily_order)  # a fixed lock order
    sums = [totals[k] for k in keys]
    await conn.execute(
        _ADD_DAILY,
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
        *([s[i] for s in sums] for i in range(len(MEASURES))),
    )
