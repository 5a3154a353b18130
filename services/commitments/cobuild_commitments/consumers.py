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
    CommitmentItem,
    CommitmentOpened,
    ItemKind,
    topics,
)
from cobuild_kit.consumer import ConsumerSpec, EventContext
from cobuild_kit.parties import follow_parties

from cobuild_commitments import store
from cobuild_commitments.domain.commitment import Commitment

spec = follow_parties(ConsumerSpec(purpose="agreements", topics=[topics.AGREEMENTS]))


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


async def _open(
    ctx: EventContext,
    agreement_id: UUID,
    parties: store.AgreementParties,
    items: list[CommitmentItem],
    at: datetime,
) -> None:
    for item in items:
        opened = await store.open_item(ctx.conn, agreement_id, parties, item, at)
        if opened is not None:
            await store.record(ctx.conn, ctx.emit, opened_event(opened))


async def _cancel(
    ctx: EventContext, agreement_id: UUID, ids: list[UUID] | None, reason: str, at: datetime
) -> None:
    for c in await store.load_open_of_agreement(ctx.conn, agreement_id, ids):
        cancelled = c.cancel(reason, at)
        await store.save(ctx.conn, cancelled)
        await store.record(
            ctx.conn,
            ctx.emit,
            CommitmentCancelled(
                commitment_id=c.commitment_id,
                agreement_id=agreement_id,
                reason=reason,
                cancelled_at=at,
            ),
        )


@spec.on(AgreementSigned)
async def on_signed(ctx: EventContext, event: AgreementSigned) -> None:
    await store.save_agreement(ctx.conn, event)
    parties = store.AgreementParties(event.community_id, event.unit_id)
    await _open(ctx, event.agreement_id, parties, list(event.items), event.signed_at)


@spec.on(AgreementAmended)
async def on_amended(ctx: EventContext, event: AgreementAmended) -> None:
    parties = await store.agreement_parties(ctx.conn, event.agreement_id)
    await _open(ctx, event.agreement_id, parties, list(event.added_items), event.amended_at)
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
