"""Events in: the parties directory (who is below whom, for delegation), members from the
points service (a registration issues a member invitation; a member's grant follows from an
accepted report), and experts from the evaluation service's directory."""

from __future__ import annotations

from cobuild_contracts import topics
from cobuild_contracts.events.evaluation import ExpertRegistered
from cobuild_contracts.events.points import (
    MemberLeft,
    MemberRegistered,
    MemberReported,
    MemberTransferred,
)
from cobuild_kit.consumer import ConsumerSpec, EventContext
from cobuild_kit.parties import follow_parties

from cobuild_access.usecases import directory, invitations
from cobuild_access.wiring import wall_clock

# Not prompt: nobody waits on a party's registration here.
agreements = follow_parties(
    ConsumerSpec(purpose="agreements", topics=[topics.AGREEMENTS], prompt=False)
)
# Prompt: a member accepted by the community waits for the grant to act as a member.
points = ConsumerSpec(purpose="points", topics=[topics.POINTS])


@points.on(MemberRegistered)
async def on_registered(ctx: EventContext, event: MemberRegistered) -> None:
    """The invitation a unit's member registration issues (issue 33). Its expiry is by the
    wall clock, as every invitation's: a played year's business clock must not age it."""
    await invitations.for_registered_member(ctx.conn, event, wall_clock())


@points.on(MemberReported)
async def on_reported(ctx: EventContext, event: MemberReported) -> None:
    await directory.member_reported(ctx.conn, ctx.emit, ctx.envelope, event)


@points.on(MemberTransferred)
async def on_transferred(ctx: EventContext, event: MemberTransferred) -> None:
    await directory.member_transferred(ctx.conn, event)


@points.on(MemberLeft)
async def on_left(ctx: EventContext, event: MemberLeft) -> None:
    await directory.member_left(ctx.conn, ctx.emit, event)


# Prompt: an expert just added waits for the grant to evaluate.
evaluation = ConsumerSpec(purpose="evaluation", topics=[topics.EVALUATION])


@evaluation.on(ExpertRegistered)
async def on_expert(ctx: EventContext, event: ExpertRegistered) -> None:
    await directory.expert_registered(ctx.conn, ctx.emit, ctx.envelope, event)


ALL = [agreements, points, evaluation]
