"""The ledger rebuilt from its journal alone: commitment states and daily deltas derived again.

The journal is folded by the domain's `fold`, the same steps as the incremental upkeep, so
the two must agree. The fold is CPU-bound Python, so it runs in a worker process: while the
worker folds one chunk, this process copies the rows of the chunk before and fetches the
next one, and PostgreSQL and Python use both cores.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
from collections.abc import Awaitable
from concurrent.futures import ProcessPoolExecutor
from operator import itemgetter

import asyncpg

from cobuild_evaluation.domain import ledger
from cobuild_evaluation.domain.ledger import MEASURES, aggregate
from cobuild_evaluation.store import ledger_rebuild
from cobuild_evaluation.store.ledger import fact_from, state_args
from cobuild_evaluation.store.ledger_rebuild import Rows

__all__ = [
    "CHUNK",
    "IN_FLIGHT",
    "Entry",
    "fold",
    "rebuild",
    "rebuild_and_tidy",
    "split_whole",
    "tidy",
]

CHUNK = 20_000  # journal entries per fetch: bounds the rebuild's memory
IN_FLIGHT = 2  # chunks handed to the worker and not yet copied

# A journal entry as the fold reads it: (commitment id, fact kind, data as JSON text).
Entry = tuple[str, str, str]

_measures_of = itemgetter(*MEASURES)  # a day's sums as a tuple, in column order


def fold(entries: list[Entry]) -> Rows:
    """Fold whole commitments' entries (in commitment, then journal order) into rows.

    Pure: it runs in the worker process. A fact before its open moves nothing."""
    folded = ledger.fold((cid, fact_from(kind, json.loads(data))) for cid, kind, data in entries)
    states = [state_args(s) for s in folded.states.values()]
    daily = [
        ("commitment", cid, day, *_measures_of(sums))
        for cid, deltas in folded.deltas.items()
        for day, sums in sorted(aggregate(deltas).items())
    ]
    return states, daily


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


async def rebuild(conn: asyncpg.Connection) -> dict[str, int]:
    """Recompute commitment states and daily deltas from the journal, in the caller's
    transaction. Readers wait for its commit, then see the rebuilt ledger whole."""
    restore = await ledger_rebuild.empty(conn)
    counts = await _fold_journal(conn)
    counts["rows"] = await ledger_rebuild.roll_up(conn, restore)
    return counts


async def rebuild_and_tidy(pool: asyncpg.Pool) -> dict[str, int]:
    """The rebuild in a transaction of its own, then the vacuum after its commit."""
    async with pool.acquire() as conn:
        async with conn.transaction():
            counts = await rebuild(conn)
        await tidy(conn)
        return counts


async def _fold_journal(conn: asyncpg.Connection) -> dict[str, int]:
    cursor = await ledger_rebuild.journal_cursor(conn)
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
                commitments += await ledger_rebuild.copy(conn, await pending.pop(0))
            if not chunk:
                break
    return {"journal_entries": entries, "commitments": commitments}


async def tidy(conn: asyncpg.Connection) -> None:
    """After the rebuild's commit: vacuum what it rebuilt (see `store.ledger_rebuild.tidy`)."""
    await ledger_rebuild.tidy(conn)
