"""Events in: fulfilled commitments award their participants (rule `task`), year-end member
scores feed the honour roll, and the parties directory feeds scope checks.

A fulfilment of a commitment points never heard opened, or a score of a member not registered
here, is not applied: it waits pending for the fact, then goes to the DLQ after the grace
period (`cobuild_kit.pending`; the hardening issue's "Forged events")."""

from __future__ import annotations

from cobuild_contracts import Envelope, topics
from cobuild_contracts.events.commitments import CommitmentFulfilled, CommitmentOpened
from cobuild_contracts.events.evaluation import MemberScored
from cobuild_kit.consumer import BatchContext, ConsumerSpec
from cobuild_kit.parties import follow_parties

from cobuild_points.usecases import awards, honours, known

# Not prompt: nobody stands waiting for an award (the member is not the admin who confirmed),
# and at the relaxed 100 ms wait a quiet topic costs the broker a fifth of the fetches.
commitments = ConsumerSpec(purpose="commitments", topics=[topics.COMMITMENTS], prompt=False)
evaluation = ConsumerSpec(purpose="evaluation", topics=[topics.EVALUATION], prompt=False)
agreements = follow_parties(
    ConsumerSpec(purpose="agreements", topics=[topics.AGREEMENTS], prompt=False)
)


@commitments.on_many(CommitmentOpened)
async def on_opened(ctx: BatchContext, items: list[tuple[Envelope, CommitmentOpened]]) -> None:
    """Points hears of the commitment, so that its fulfilment may be awarded."""
    await known.learn_commitments(ctx.conn, [(e.commitment_id, e.opened_at) for _, e in items])
    for _, e in items:
        await ctx.known("commitment", e.commitment_id)


@commitments.on_many(CommitmentFulfilled)
async def on_fulfilled(
    ctx: BatchContext, items: list[tuple[Envelope, CommitmentFulfilled]]
) -> None:
    """Each participant once per event (inbox + the ledger's unique cause key). A run of
    events is awarded at once, in order (one statement per table). A commitment never
    heard of waits (`Awaiting`: the kit then takes the run one event at a time)."""
    await known.require_commitments(ctx.conn, [e.commitment_id for _, e in items])
    await awards.award_tasks(ctx.conn, ctx.emit, items)


@evaluation.on_many(MemberScored)
async def on_scored(ctx: BatchContext, items: list[tuple[Envelope, MemberScored]]) -> None:
    """The latest assessment of a member-year wins (events are keyed by member, so ordered).
    A member not registered here waits (`Awaiting`), so a forged score names nobody."""
    await known.require_members(ctx.conn, [e.member_id for _, e in items])
    for _, event in items:
        await honours.record_score(ctx.conn, event)
