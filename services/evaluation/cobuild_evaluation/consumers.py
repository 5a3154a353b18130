"""Event consumers: one group per input topic. Thin: translate the event, then store it."""

from __future__ import annotations

from decimal import Decimal

from cobuild_contracts import Envelope, topics
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
from cobuild_kit.consumer import BatchContext, ConsumerSpec, EventContext
from cobuild_kit.parties import follow_parties

from cobuild_evaluation import ledger_append, members_store
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


# The ledger takes a run of one fact type at once (one statement per table per run).


@commitments.on_many(CommitmentOpened)
async def on_opened(ctx: BatchContext, items: list[tuple[Envelope, CommitmentOpened]]) -> None:
    await ledger_append.record_many(
        ctx.conn, [(env.event_id, e.commitment_id, opened_fact(e)) for env, e in items]
    )


@commitments.on_many(CommitmentFulfilled)
async def on_fulfilled(
    ctx: BatchContext, items: list[tuple[Envelope, CommitmentFulfilled]]
) -> None:
    await ledger_append.record_many(
        ctx.conn, [(env.event_id, e.commitment_id, fulfilled_fact(e)) for env, e in items]
    )


@commitments.on_many(CommitmentOverdue)
async def on_overdue(ctx: BatchContext, items: list[tuple[Envelope, CommitmentOverdue]]) -> None:
    await ledger_append.record_many(
        ctx.conn,
        [
            (env.event_id, e.commitment_id, FlaggedOverdue(day=business_date(e.detected_at)))
            for env, e in items
        ],
    )


@commitments.on_many(CommitmentCancelled)
async def on_cancelled(
    ctx: BatchContext, items: list[tuple[Envelope, CommitmentCancelled]]
) -> None:
    await ledger_append.record_many(
        ctx.conn,
        [
            (env.event_id, e.commitment_id, Cancelled(day=business_date(e.cancelled_at)))
            for env, e in items
        ],
    )


def opened_fact(e: CommitmentOpened) -> Opened:
    return Opened(
        commitment_id=str(e.commitment_id),
        agreement_id=str(e.agreement_id),
        community_id=str(e.community_id),
        unit_id=str(e.unit_id),
        beneficiary_party_id=str(e.beneficiary_party_id),
        deadline=e.deadline,
        committed_fen=e.funds_fen,
        day=business_date(e.opened_at),
    )


def fulfilled_fact(e: CommitmentFulfilled) -> Fulfilled:
    return Fulfilled(
        day=business_date(e.confirmed_at),
        paid_fen=e.paid_fen,
        committed_fen=e.committed_fen,
        on_time=e.on_time,
    )


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


@points.on_many(PointsAwarded)
async def on_awarded(ctx: BatchContext, items: list[tuple[Envelope, PointsAwarded]]) -> None:
    await members_store.add_points_many(
        ctx.conn,
        [
            (e.entry_id, e.member_id, e.year, Decimal(e.points), e.community_id, e.unit_id,
             e.business_date)
            for _, e in items
        ],
    )  # fmt: skip


@points.on_many(PointsReversed)
async def on_reversed(ctx: BatchContext, items: list[tuple[Envelope, PointsReversed]]) -> None:
    await members_store.add_points_many(
        ctx.conn,
        [
            (e.entry_id, e.member_id, e.year, -Decimal(e.points), e.community_id, e.unit_id,
             e.business_date)
            for _, e in items
        ],
    )  # fmt: skip
