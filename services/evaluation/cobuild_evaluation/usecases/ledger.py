"""Appending a run of facts to the fulfilment ledger, with one statement per table.

Journal rows in order (ids ascending), each commitment's state stepped through its facts by
the domain's `step`, and the daily rows of every (scope, day) a fact touched moved by the
summed deltas: the same ledger as `domain.ledger.fold` of the journal (tested).
"""

from __future__ import annotations

from uuid import UUID

import asyncpg
from cobuild_kit.pending import Awaiting

from cobuild_evaluation.domain.ledger import CommitmentState, Opened, step
from cobuild_evaluation.store import ledger
from cobuild_evaluation.store.ledger import Entry, Moves, fact_kind

__all__ = ["Entry", "record_many"]


async def record_many(conn: asyncpg.Connection, entries: list[Entry]) -> None:
    """Journal the facts and move the aggregates, in the caller's transaction."""
    if not entries:
        return
    fresh = await ledger.journal(conn, entries)
    todo = [e for e in entries if e[0] in fresh]
    if not todo:
        return
    states = await ledger.lock_states(conn, sorted({cid for _, cid, _ in todo}, key=_uuid_order))
    changed: dict[UUID, CommitmentState] = {}
    opened: list[CommitmentState] = []
    moved = Moves()
    for _, commitment_id, fact in todo:
        current = states.get(commitment_id)
        if current is None and not isinstance(fact, Opened):
            # Not opened here (yet): a broken producer or a forged event. It waits for the
            # open, then goes to the DLQ after the grace period (cobuild_kit.pending).
            raise Awaiting(
                "commitment",
                commitment_id,
                f"{fact_kind(fact)} for unknown commitment {commitment_id}",
            )
        state, deltas = step(current, fact)
        assert state is not None  # an open always gives a state
        if current is None:
            opened.append(state)
        states[commitment_id] = changed[commitment_id] = state
        if deltas:
            moved.add(state, deltas)
    await ledger.note_agreements(conn, opened)
    await ledger.save_states(conn, list(changed.values()))
    await ledger.add_daily(conn, moved)


# UUID order is its integer's order (and PostgreSQL's); comparing the ints skips the Python
# methods UUID.__lt__ and __eq__ (a run of 20,000 fulfilments: 139 → 133 µs of Python each).
def _uuid_order(u: UUID) -> int:
    return u.int
