"""agreements.events.v1 → commitments: open on signing, cancel on amendment or termination.

Facts take their time from the incoming event (a replay reproduces them); the kit's inbox makes a
redelivered event a no-op, and inserts keyed by commitment_id make a repeated item a no-op too.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from cobuild_contracts import (
    AgreementAmended,
    AgreementSigned,
    AgreementTerminated,
    CommitmentCancelled,
    CommitmentOpened,
    Envelope,
    ItemKind,
    topics,
)
from cobuild_kit.consumer import BatchContext, ConsumerSpec, EventContext
from cobuild_kit.parties import follow_parties

from cobuild_commitments import store
from cobuild_commitments.domain.commitment import Commitment

spec = follow_parties(ConsumerSpec(purpose="agreements", topics=[topics.AGREEMENTS], prompt=False))


def opened_event(c: Commitment) -> CommitmentOpened:
    return CommitmentOpened(
        commitment_id=c.commitment_id,
        agreement_id=c.agreement_id,
        community_id=c.community_id,
        unit_id=c.unit_id,
        obligor_party_id=c.obligor_party_id,
        beneficiary_party_id=c.beneficiary_party_id,
        title=c.title,
        kind=ItemKind(c.kind),
        category=c.category,
        deadline=c.deadline,
        funds_fen=c.funds_fen,
        quantity=c.quantity,
        quantity_unit=c.quantity_unit,
        opened_at=c.opened_at,
    )


async def _open(ctx: EventContext, new_items: list[store.NewItem]) -> None:
    for opened in await store.open_items(ctx.conn, new_items):
        await store.record(ctx.conn, ctx.emit, opened_event(opened))


async def _cancel(
    ctx: EventContext, agreement_id: UUID, ids: list[UUID] | None, reason: str, at: datetime
) -> None:
    for c in await store.load_open_of_agreement(ctx.conn, agreement_id, ids):
        cancelled = c.cancel(reason, at)
        await store.save_and_record(
            ctx.conn,
            ctx.emit,
            cancelled,
            CommitmentCancelled(
                commitment_id=c.commitment_id,
                agreement_id=agreement_id,
                reason=reason,
                cancelled_at=at,
            ),
        )


def _signed_items(event: AgreementSigned) -> list[store.NewItem]:
    parties = store.AgreementParties(event.community_id, event.unit_id)
    return [
        store.NewItem(event.agreement_id, parties, item, event.signed_at) for item in event.items
    ]


@spec.on_many(AgreementSigned)
async def on_signed(ctx: BatchContext, items: list[tuple[Envelope, AgreementSigned]]) -> None:
    """A run of signings at once, as if one by one: the agreements in one statement, every
    item's commitment in one, then commitment.opened (caused by its signing) and the history
    rows in order, in one statement each."""
    await store.save_agreements(ctx.conn, [event for _, event in items])
    new_items: list[store.NewItem] = []
    causes: dict[UUID, Envelope] = {}  # the first signing that carries the item opens it
    for env, event in items:
        for new in _signed_items(event):
            new_items.append(new)
            causes.setdefault(new.item.commitment_id, env)
    emitted = [
        await ctx.emit(opened_event(c), causes[c.commitment_id])
        for c in await store.open_items(ctx.conn, new_items)
    ]
    if emitted:
        await store.record_many(ctx.conn, emitted)


@spec.on(AgreementAmended)
async def on_amended(ctx: EventContext, event: AgreementAmended) -> None:
    parties = await store.agreement_parties(ctx.conn, event.agreement_id)
    added = [
        store.NewItem(event.agreement_id, parties, item, event.amended_at)
        for item in event.added_items
    ]
    await _open(ctx, added)
    if event.cancelled_commitment_ids:
        reason = f"amendment v{event.version}: {event.reason}"[:500]
        await _cancel(
            ctx, event.agreement_id, list(event.cancelled_commitment_ids), reason, event.amended_at
        )


@spec.on(AgreementTerminated)
async def on_terminated(ctx: EventContext, event: AgreementTerminated) -> None:
    await store.mark_terminated(ctx.conn, event.agreement_id, event.terminated_at)
    reason = f"agreement terminated: {event.reason}"[:500]
    await _cancel(ctx, event.agreement_id, None, reason, event.terminated_at)
