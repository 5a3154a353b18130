"""What an agreement's events do to its commitments: open one per item on signing, open the
added and cancel the dropped on amendment, cancel the open ones on termination.

Facts take their time from the incoming event (a replay reproduces them); inserts keyed by
commitment_id make a repeated item a no-op.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from uuid import UUID

import asyncpg
from cobuild_contracts import (
    AgreementAmended,
    AgreementSigned,
    AgreementTerminated,
    Envelope,
    Event,
)

from cobuild_commitments.domain import events
from cobuild_commitments.store import agreements, commitments, history
from cobuild_commitments.store.commitments import NewItem
from cobuild_commitments.store.history import Emit

# Emitting within a run of events: each follow-up is caused by one envelope of the run.
EmitCaused = Callable[[Event, Envelope], Awaitable[Envelope]]


def _signed_items(event: AgreementSigned) -> list[NewItem]:
    parties = agreements.AgreementParties(event.community_id, event.unit_id)
    return [NewItem(event.agreement_id, parties, item, event.signed_at) for item in event.items]


async def sign_many(
    conn: asyncpg.Connection,
    emit: EmitCaused,
    signings: Sequence[tuple[Envelope, AgreementSigned]],
) -> None:
    """A run of signings at once, as if one by one: the agreements in one statement, every
    item's commitment in one, then commitment.opened (caused by its signing) and the history
    rows in order, in one statement each."""
    await agreements.save_agreements(conn, [event for _, event in signings])
    new_items: list[NewItem] = []
    causes: dict[UUID, Envelope] = {}  # the first signing that carries the item opens it
    for env, event in signings:
        for new in _signed_items(event):
            new_items.append(new)
            causes.setdefault(new.item.commitment_id, env)
    emitted = [
        await emit(events.opened(c), causes[c.commitment_id])
        for c in await commitments.open_items(conn, new_items)
    ]
    if emitted:
        await history.record_many(conn, emitted)


async def _open(conn: asyncpg.Connection, emit: Emit, new_items: list[NewItem]) -> None:
    for opened in await commitments.open_items(conn, new_items):
        await history.record(conn, emit, events.opened(opened))


async def _cancel(
    conn: asyncpg.Connection,
    emit: Emit,
    agreement_id: UUID,
    ids: list[UUID] | None,
    reason: str,
    at: datetime,
) -> None:
    for c in await commitments.load_open_of_agreement(conn, agreement_id, ids):
        cancelled = c.cancel(reason, at)
        await commitments.save_and_record(conn, emit, cancelled, events.cancelled(cancelled))


async def amend(conn: asyncpg.Connection, emit: Emit, event: AgreementAmended) -> None:
    parties = await agreements.agreement_parties(conn, event.agreement_id)
    added = [
        NewItem(event.agreement_id, parties, item, event.amended_at) for item in event.added_items
    ]
    await _open(conn, emit, added)
    if event.cancelled_commitment_ids:
        reason = f"amendment v{event.version}: {event.reason}"[:500]
        ids = list(event.cancelled_commitment_ids)
        await _cancel(conn, emit, event.agreement_id, ids, reason, event.amended_at)


async def terminate(conn: asyncpg.Connection, emit: Emit, event: AgreementTerminated) -> None:
    await agreements.mark_terminated(conn, event.agreement_id, event.terminated_at)
    reason = f"agreement terminated: {event.reason}"[:500]
    await _cancel(conn, emit, event.agreement_id, None, reason, event.terminated_at)
