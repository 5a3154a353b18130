"""Experts' assignments, from the evaluation service's expert.assigned (evaluation.events.v1).

The evaluation service owns the expert directory and the assignments; this service keeps the
ids of each assignment (`expert_assignments`), so that an expert assigned to a commitment may
read it and its evidence (usecases/access.py, `as_reader`). An assignment to an agreement is
kept too and lets the expert read nothing here yet. Nobody waits on these events: an expert
who opens the commitment a moment before the assignment arrives is told it does not exist
(404), and a retry succeeds once it has.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from cobuild_contracts import Envelope
from cobuild_contracts.events.evaluation import ExpertAssigned

from cobuild_commitments.store import experts


async def assigned_many(
    conn: asyncpg.Connection, items: Sequence[tuple[Envelope, ExpertAssigned]]
) -> None:
    await experts.assigned_many(
        conn,
        [
            (e.assignment_id, e.expert_id, e.subject_kind, e.subject_id, e.assigned_at)
            for _, e in items
        ],
    )
