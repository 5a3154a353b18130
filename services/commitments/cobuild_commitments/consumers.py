"""Events in: agreements.events.v1 opens and cancels commitments (`spec`); points.events.v1
keeps the members read model that assignment and participation are checked against
(`members_spec`); evaluation.events.v1 the experts' assignments that let an expert read an
assigned commitment and its evidence (`experts_spec`).

The kit's inbox makes a redelivered event a no-op; what each event does is
`usecases.agreements` and `usecases.members`.
"""

from __future__ import annotations

from cobuild_contracts import (
    AgreementAmended,
    AgreementSigned,
    AgreementTerminated,
    Envelope,
    topics,
)
from cobuild_contracts.events.evaluation import ExpertAssigned
from cobuild_contracts.events.points import MemberLeft, MemberReported, MemberTransferred
from cobuild_kit.consumer import BatchContext, ConsumerSpec, EventContext
from cobuild_kit.parties import follow_parties

from cobuild_commitments.usecases import agreements, experts, members

spec = follow_parties(ConsumerSpec(purpose="agreements", topics=[topics.AGREEMENTS], prompt=False))


@spec.on_many(AgreementSigned)
async def on_signed(ctx: BatchContext, items: list[tuple[Envelope, AgreementSigned]]) -> None:
    await agreements.sign_many(ctx.conn, ctx.emit, items)


@spec.on(AgreementAmended)
async def on_amended(ctx: EventContext, event: AgreementAmended) -> None:
    await agreements.amend(ctx.conn, ctx.emit, event)


@spec.on(AgreementTerminated)
async def on_terminated(ctx: EventContext, event: AgreementTerminated) -> None:
    await agreements.terminate(ctx.conn, ctx.emit, event)


# Who is registered with which unit and community (a directory: nobody waits on its events,
# and a command that finds a member not yet here says "not (yet)").
members_spec = ConsumerSpec(purpose="members", topics=[topics.POINTS], prompt=False)


@members_spec.on_many(MemberReported)
async def on_member_reported(
    ctx: BatchContext, items: list[tuple[Envelope, MemberReported]]
) -> None:
    await members.reported_many(ctx.conn, items)


@members_spec.on(MemberTransferred)
async def on_member_transferred(ctx: EventContext, event: MemberTransferred) -> None:
    await members.transferred(ctx.conn, event)


@members_spec.on(MemberLeft)
async def on_member_left(ctx: EventContext, event: MemberLeft) -> None:
    await members.left(ctx.conn, event)


# Which expert is assigned to which commitment (a directory: nobody waits on its events; an
# expert who looks a moment too early is told the commitment does not exist, and a retry works).
experts_spec = ConsumerSpec(purpose="experts", topics=[topics.EVALUATION], prompt=False)


@experts_spec.on_many(ExpertAssigned)
async def on_expert_assigned(
    ctx: BatchContext, items: list[tuple[Envelope, ExpertAssigned]]
) -> None:
    await experts.assigned_many(ctx.conn, items)
