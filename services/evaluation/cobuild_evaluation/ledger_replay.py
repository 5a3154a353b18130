"""The ledger rebuilt from its journal alone: commitment states and daily deltas derived again.

The journal is folded with the same domain functions as the incremental upkeep, so the two
must agree. The fold is CPU-bound Python, so it runs in a worker process: while the worker
folds one chunk, this process copies the rows of the chunk before and fetches the next one,
and PostgreSQL and Python use both cores. Both tables are loaded the way a bulk load should
be, without their indexes, which are then built once each, by sort.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
from collections.abc import Awaitable
from concurrent.futures import ProcessPoolExecutor
from operator import itemgetter
from typing import Any

import asyncpg

from cobuild_evaluation.domain.ledger import (
    MEASURES,
    CommitmentState,
    Delta,
    Opened,
    aggregate,
    apply_fact,
    open_commitment,
)
from cobuild_evaluation.ledger_store import (
    ALL_SCOPE,
    MEASURE_COLS,
    STATE_COLS,
    fact_from,
    state_args,
)

CHUNK = 20_000  # journal entries per fetch: bounds the rebuild's memory
IN_FLIGHT = 2  # chunks handed to the worker and not yet copied

# A journal entry as the fold reads it: (commitment id, fact kind, data as JSON text).
Entry = tuple[str, str, str]
# What a fold hands to COPY: commitment state rows, and commitment-scope daily rows.
Rows = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]

_measures_of = itemgetter(*MEASURES)  # a day's sums as a tuple, in column order


def fold(entries: list[Entry]) -> Rows:
    """Fold whole commitments' entries (in commitment, then journal order) into rows.

    Pure: it runs in the worker process. A fact before its open moves nothing, as in the
    incremental upkeep."""
    states: list[tuple[Any, ...]] = []
    daily: list[tuple[Any, ...]] = []
    current: str | None = None
    state: CommitmentState | None = None
    deltas: list[Delta] = []
    for cid, kind, data in entries:
        if cid != current:
            _emit(current, state, deltas, states, daily)
            current, state, deltas = cid, None, []
        fact = fact_from(kind, json.loads(data))
        if state is None:
            if not isinstance(fact, Opened):
                continue
            state, moved = open_commitment(fact)
        else:
            state, moved = apply_fact(state, fact)
        deltas.extend(moved)
    _emit(current, state, deltas, states, daily)
    return states, daily


def _emit(
    cid: str | None,
    state: CommitmentState | None,
    deltas: list[Delta],
    states: list[tuple[Any, ...]],
    daily: list[tuple[Any, ...]],
) -> None:
    if cid is None or state is None:
        return
    states.append(state_args(state))
    for day, sums in sorted(aggregate(deltas).items()):
        daily.append(("commitment", cid, day, *_measures_of(sums)))


def split_whole(entries: list[Entry], last: bool) -> tuple[list[Entry], list[Entry]]:
    """(whole commitments, the trailing commitment's entries): a chunk must not cut one
    commitment's entries in two, so the tail waits for the next fetch (unless it is the last)."""
    if last or not entries:
        return entries, []
    tail_id = entries[-1][0]
    cut = len(entries)
    while cut > 0 and entries[cut - 1][0] == tail_id:
        cut -= 1
    return entries[:cut], entries[cut:]


# Every scope above a commitment is the sum of its commitments' deltas, so after the
# commitment rows are in, grouped statements derive the rest in the database: one per kind,
# because four small hash tables beat one that spills (12 s against 20 s at 10^6).
_ROLL_UP = f"""
INSERT INTO ledger_daily (scope_kind, scope_id, day, {MEASURE_COLS})
SELECT $1, {{scope}}, d.day, {", ".join(f"ledger_total(d.{m})" for m in MEASURES)}
FROM ledger_daily d JOIN ledger_commitments c ON c.commitment_id = d.scope_id
WHERE d.scope_kind = 'commitment'
GROUP BY {{scope}}, d.day
"""
_SCOPE_COLUMN = {
    "agreement": "c.agreement_id",
    "unit": "c.unit_id",
    "community": "c.community_id",
    "all": f"'{ALL_SCOPE}'::uuid",
}

# The definitions come from the catalogue, so an index a later migration adds is restored too.
_INDEXES_OF = """
SELECT i.indrelid::regclass::text AS tbl, quote_ident(ix.relname) AS idx,
       pg_get_indexdef(i.indexrelid) AS idxdef,
       quote_ident(c.conname) AS con, pg_get_constraintdef(c.oid) AS condef
FROM pg_index i
JOIN pg_class ix ON ix.oid = i.indexrelid
LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
WHERE i.indrelid = ANY($1::regclass[])
ORDER BY c.conname NULLS LAST, ix.relname
"""
_REBUILT = ["ledger_commitments", "ledger_daily", "ledger_agreements"]
# Each agreement's parties, from its commitments (they all name the same two).
_AGREEMENTS = """
INSERT INTO ledger_agreements (agreement_id, community_id, unit_id)
SELECT DISTINCT ON (agreement_id) agreement_id, community_id, unit_id
FROM ledger_commitments ORDER BY agreement_id
"""
_STATE_COLUMNS = [c.strip() for c in STATE_COLS.split(",")]
_DAILY_COLUMNS = ["scope_kind", "scope_id", "day", *MEASURES]


async def rebuild(conn: asyncpg.Connection) -> dict[str, int]:
    """Recompute commitment states and daily deltas from the journal, in the caller's
    transaction. Readers wait for its commit (TRUNCATE's lock), then see the rebuilt ledger
    whole."""
    await conn.execute("LOCK TABLE ledger_journal IN SHARE ROW EXCLUSIVE MODE")
    await conn.execute(f"TRUNCATE {', '.join(_REBUILT)}")
    # Room to hash the roll-up and sort each index in memory, for this transaction only.
    await conn.execute("SET LOCAL work_mem = '64MB'")
    await conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
    restore = await _drop_indexes(conn, _REBUILT)
    counts = await _fold_journal(conn)
    await conn.execute(f"ANALYZE {', '.join(_REBUILT)}")  # the roll-up's plan needs the sizes
    for kind, column in _SCOPE_COLUMN.items():
        await conn.execute(_ROLL_UP.format(scope=column), kind)
    await conn.execute(_AGREEMENTS)
    for statement in restore:
        await conn.execute(statement)
    counts["rows"] = int(await conn.fetchval("SELECT count(*) FROM ledger_daily"))
    return counts


async def tidy(conn: asyncpg.Connection) -> None:
    """After the rebuild's commit (VACUUM cannot run in a transaction): vacuum the rebuilt
    tables. Otherwise the first readers set the hint bits of millions of fresh rows, page by
    page; at 10^6 commitments that made an agreement's drill-down 4 times slower (p50 12 ms
    against 3 ms after the vacuum, which takes about 3 s)."""
    await conn.execute(f"VACUUM (ANALYZE) {', '.join(_REBUILT)}")


async def _fold_journal(conn: asyncpg.Connection) -> dict[str, int]:
    cursor = await conn.cursor(
        "SELECT commitment_id::text, fact, data::text FROM ledger_journal "
        "ORDER BY commitment_id, id"
    )
    loop = asyncio.get_running_loop()
    entries = commitments = 0
    pending: list[Awaitable[Rows]] = []
    carry: list[Entry] = []
    # spawn, not fork: this process runs an event loop and threads a fork would copy.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as worker:
        while True:
            chunk = [(r[0], r[1], r[2]) for r in await cursor.fetch(CHUNK)]
            entries += len(chunk)
            whole, carry = split_whole(carry + chunk, last=not chunk)
            if whole:
                pending.append(loop.run_in_executor(worker, fold, whole))
            while pending and (len(pending) >= IN_FLIGHT or not chunk):
                commitments += await _copy(conn, await pending.pop(0))
            if not chunk:
                break
    return {"journal_entries": entries, "commitments": commitments}


async def _copy(conn: asyncpg.Connection, rows: Rows) -> int:
    states, daily = rows
    if states:
        await conn.copy_records_to_table(
            "ledger_commitments", records=states, columns=_STATE_COLUMNS
        )
    if daily:
        await conn.copy_records_to_table("ledger_daily", records=daily, columns=_DAILY_COLUMNS)
    return len(states)


async def _drop_indexes(conn: asyncpg.Connection, tables: list[str]) -> list[str]:
    """Drop the tables' indexes (constraints' included); returns the statements that restore
    them."""
    restore: list[str] = []
    for r in await conn.fetch(_INDEXES_OF, tables):
        if r["con"] is not None:
            await conn.execute(f"ALTER TABLE {r['tbl']} DROP CONSTRAINT {r['con']}")
            restore.append(f"ALTER TABLE {r['tbl']} ADD CONSTRAINT {r['con']} {r['condef']}")
        else:
            await conn.execute(f"DROP INDEX {r['idx']}")
            restore.append(r["idxdef"])
    return restore
