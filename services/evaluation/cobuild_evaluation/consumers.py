"""Event consumers: one group per input topic. Thin: translate the event, then hand it to the
ledger's use case or the store."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from cobuild_contracts import Envelope, topics
from cobuild_contracts.events.agreements import AgreementSigned
from cobuild_contracts.events.commitments import (
    CommitmentCancelled,
    CommitmentFulfilled,
    CommitmentOpened,
    CommitmentOverdue,
)
from cobuild_contracts.events.escalations import (
    WhistleHandedOn,
    WhistleRaised,
    WhistleRated,
    WhistleReopened,
    WhistleResolved,
    WhistleResponded,
    WhistleRouted,
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

from cobuild_evaluation.domain.ledger import Cancelled, FlaggedOverdue, Fulfilled, Opened
from cobuild_evaluation.store import agreements as agreements_store
from cobuild_evaluation.store import members
from cobuild_evaluation.usecases import ledger, whistle_rates

agreements = follow_parties(
    ConsumerSpec(purpose="agreements", topics=[topics.AGREEMENTS], prompt=False)
)
commitments = ConsumerSpec(purpose="commitments", topics=[topics.COMMITMENTS])
points = ConsumerSpec(purpose="points", topics=[topics.POINTS], prompt=False)
# Whistles (吹哨报到): their rates are read by supervisors, not awaited by a command.
escalations = ConsumerSpec(purpose="escalations", topics=[topics.ESCALATIONS], prompt=False)
ALL = [agreements, commitments, points, escalations]


# Agreement-level facts only: the ledger counts commitments from commitments events.
@agreements.on_many(AgreementSigned)
async def on_signed(ctx: BatchContext, items: list[tuple[Envelope, AgreementSigned]]) -> None:
    """A run of signings in one upsert, one row per agreement (a statement cannot touch a row
    twice): the row one-by-one upserts would leave, see `signed_rows`."""
    await agreements_store.record_signed(ctx.conn, signed_rows([e for _, e in items]))


def signed_rows(events: list[AgreementSigned]) -> list[tuple[Any, ...]]:
    """Per agreement, in first-seen order: the first signing's row (what an insert keeps)
    with the version and term of the first signing of the highest version (what the
    strictly-newer-version updates would leave)."""
    first: dict[UUID, AgreementSigned] = {}
    newest: dict[UUID, AgreementSigned] = {}
    for e in events:
        first.setdefault(e.agreement_id, e)
        if e.version > newest.setdefault(e.agreement_id, e).version:
            newest[e.agreement_id] = e
    return [
        (
            aid, e.community_id, e.unit_id, e.street_id, e.district_id,
            newest[aid].term_start, newest[aid].term_end, e.origin.value, newest[aid].version,
            business_date(e.signed_at), e.signed_at,
        )
        for aid, e in first.items()
    ]  # fmt: skip


# The ledger takes a run of one fact type at once (one statement per table per run).


# A fact on a commitment not opened here (a forged event, or one ahead of its open) is kept
# pending until the open arrives (`ledger.record_many` raises `Awaiting`), then the DLQ.
@commitments.on_many(CommitmentOpened)
async def on_opened(ctx: BatchContext, items: list[tuple[Envelope, CommitmentOpened]]) -> None:
    await ledger.record_many(
        ctx.conn, [(env.event_id, e.commitment_id, opened_fact(e)) for env, e in items]
    )
    for _, e in items:
        await ctx.known("commitment", e.commitment_id)


@commitments.on_many(CommitmentFulfilled)
async def on_fulfilled(
    ctx: BatchContext, items: list[tuple[Envelope, CommitmentFulfilled]]
) -> None:
    await ledger.record_many(
        ctx.conn, [(env.event_id, e.commitment_id, fulfilled_fact(e)) for env, e in items]
    )


@commitments.on_many(CommitmentOverdue)
async def on_overdue(ctx: BatchContext, items: list[tuple[Envelope, CommitmentOverdue]]) -> None:
    await ledger.record_many(
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
    await ledger.record_many(
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
    await members.reported(
        ctx.conn, e.member_id, e.unit_id, e.community_id, business_date(e.reported_at)
    )


@points.on(MemberTransferred)
async def on_transferred(ctx: EventContext, e: MemberTransferred) -> None:
    await members.transferred(ctx.conn, e.member_id, e.unit_id, e.to_community_id)


@points.on(MemberLeft)
async def on_left(ctx: EventContext, e: MemberLeft) -> None:
    await members.left(ctx.conn, e.member_id, business_date(e.left_at))


@points.on_many(PointsAwarded)
async def on_awarded(ctx: BatchContext, items: list[tuple[Envelope, PointsAwarded]]) -> None:
    await members.add_points_many(
        ctx.conn,
        [
            (e.entry_id, e.member_id, e.year, Decimal(e.points), e.community_id, e.unit_id,
             e.business_date)
            for _, e in items
        ],
    )  # fmt: skip


@points.on_many(PointsReversed)
async def on_reversed(ctx: BatchContext, items: list[tuple[Envelope, PointsReversed]]) -> None:
    await members.add_points_many(
        ctx.conn,
        [
            (e.entry_id, e.member_id, e.year, -Decimal(e.points), e.community_id, e.unit_id,
             e.business_date)
            for _, e in items
        ],
    )  # fmt: skip


# A step of a whistle not raised here waits for its raising (`whistle_rates._known` raises
# `Awaiting`); the raising records the fact.
@escalations.on(WhistleRaised)
async def on_whistle_raised(ctx: EventContext, e: WhistleRaised) -> None:
    await whistle_rates.raised(ctx.conn, e)
    await ctx.known("whistle", e.whistle_id)


@escalations.on(WhistleRouted)
async def on_whistle_routed(ctx: EventContext, e: WhistleRouted) -> None:
    await whistle_rates.routed(ctx.conn, ctx.envelope.event_id, e)


@escalations.on(WhistleHandedOn)
async def on_whistle_handed_on(ctx: EventContext, e: WhistleHandedOn) -> None:
    await whistle_rates.handed_on(ctx.conn, ctx.envelope.event_id, e)


@escalations.on(WhistleResponded)
async def on_whistle_responded(ctx: EventContext, e: WhistleResponded) -> None:
    await whistle_rates.responded(ctx.conn, ctx.envelope.event_id, e)


@escalations.on(WhistleResolved)
async def on_whistle_resolved(ctx: EventContext, e: WhistleResolved) -> None:
    await whistle_rates.resolved(ctx.conn, ctx.envelope.event_id, e)


@escalations.on(WhistleReopened)
async def on_whistle_reopened(ctx: EventContext, e: WhistleReopened) -> None:
    await whistle_rates.reopened(ctx.conn, ctx.envelope.event_id, e)


@escalations.on(WhistleRated)
async def on_whistle_rated(ctx: EventContext, e: WhistleRated) -> None:
    await whistle_rates.rated(ctx.conn, ctx.envelope.event_id, e)
