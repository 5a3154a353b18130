"""Event consumers: one group per input topic. Thin: translate the event, then store it."""

from __future__ import annotations

from decimal import Decimal

from cobuild_contracts import topics
from cobuild_contracts.events.agreements import AgreementSigned
from cobuild_contracts.events.commitments import (
    CommitmentCancelled,
    CommitmentFulfilled,
    CommitmentOpened,
    CommitmentOverdue,
)
from cobuild_contracts.events.points import (
    MemberLeft,
    MemberReported,
    MemberTransferred,
    PointsAwarded,
    PointsReversed,
)
from cobuild_kit.clock import business_date
from cobuild_kit.consumer import ConsumerSpec, EventContext
from cobuild_kit.parties import follow_parties

from cobuild_evaluation import ledger_store, members_store
from cobuild_evaluation.domain.ledger import Cancelled, FlaggedOverdue, Fulfilled, Opened

agreements = follow_parties(ConsumerSpec(purpose="agreements", topics=[topics.AGREEMENTS]))
commitments = ConsumerSpec(purpose="commitments", topics=[topics.COMMITMENTS])
points = ConsumerSpec(purpose="points", topics=[topics.POINTS])
ALL = [agreements, commitments, points]


@agreements.on(AgreementSigned)
async def on_signed(ctx: EventContext, e: AgreementSigned) -> None:
    # Agreement-level facts only: the ledger counts commitments from commitments events.
    await ctx.conn.execute(
        """INSERT INTO agreements (agreement_id, community_id, unit_id, street_id, district_id,
               term_start, term_end, origin, version, signed_on, signed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (agreement_id) DO UPDATE SET version = EXCLUDED.version,
               term_start = EXCLUDED.term_start, term_end = EXCLUDED.term_end
           WHERE agreements.version < EXCLUDED.version""",
        e.agreement_id,
        e.community_id,
        e.unit_id,
        e.street_id,
        e.district_id,
        e.term_start,
        e.term_end,
        e.origin.value,
        e.version,
        business_date(e.signed_at),
        e.signed_at,
    )


@commitments.on(CommitmentOpened)
async def on_opened(ctx: EventContext, e: CommitmentOpened) -> None:
    fact = Opened(
        commitment_id=str(e.commitment_id),
        agreement_id=str(e.agreement_id),
        community_id=str(e.community_id),
        unit_id=str(e.unit_id),
        beneficiary_party_id=str(e.beneficiary_party_id),
        deadline=e.deadline,
        committed_fen=e.funds_fen,
        day=business_date(e.opened_at),
    )
    await ledger_store.record(ctx.conn, ctx.envelope.event_id, e.commitment_id, fact)


@commitments.on(CommitmentFulfilled)
async def on_fulfilled(ctx: EventContext, e: CommitmentFulfilled) -> None:
    fact = Fulfilled(
        day=business_date(e.confirmed_at),
        paid_fen=e.paid_fen,
        committed_fen=e.committed_fen,
        on_time=e.on_time,
    )
    await ledger_store.record(ctx.conn, ctx.envelope.event_id, e.commitment_id, fact)


@commitments.on(CommitmentOverdue)
async def on_overdue(ctx: EventContext, e: CommitmentOverdue) -> None:
    fact = FlaggedOverdue(day=business_date(e.detected_at))
    await ledger_store.record(ctx.conn, ctx.envelope.event_id, e.commitment_id, fact)


@commitments.on(CommitmentCancelled)
async def on_cancelled(ctx: EventContext, e: CommitmentCancelled) -> None:
    fact = Cancelled(day=business_date(e.cancelled_at))
    await ledger_store.record(ctx.conn, ctx.envelope.event_id, e.commitment_id, fact)


@points.on(MemberReported)
async def on_reported(ctx: EventContext, e: MemberReported) -> None:
    await members_store.reported(
        ctx.conn, e.member_id, e.unit_id, e.community_id, business_date(e.reported_at)
    )


@points.on(MemberTransferred)
async def on_transferred(ctx: EventContext, e: MemberTransferred) -> None:
    await members_store.transferred(ctx.conn, e.member_id, e.unit_id, e.to_community_id)


@points.on(MemberLeft)
async def on_left(ctx: EventContext, e: MemberLeft) -> None:
    await members_store.left(ctx.conn, e.member_id, business_date(e.left_at))


@points.on(PointsAwarded)
async def on_awarded(ctx: EventContext, e: PointsAwarded) -> None:
    await members_store.add_points(
        ctx.conn,
        entry_id=e.entry_id,
        member_id=e.member_id,
        year=e.year,
        points=e.points,
        community_id=e.community_id,
        unit_id=e.unit_id,
        day=e.business_date,
    )


@points.on(PointsReversed)
async def on_reversed(ctx: EventContext, e: PointsReversed) -> None:
    await members_store.add_points(
        ctx.conn,
        entry_id=e.entry_id,
        member_id=e.member_id,
        year=e.year,
        points=-Decimal(e.points),
        community_id=e.community_id,
        unit_id=e.unit_id,
        day=e.business_date,
    )
