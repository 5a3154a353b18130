"""Events in: fulfilled commitments award their participants (rule `task`), year-end member
scores feed the honour roll, and the parties directory feeds scope checks."""

from __future__ import annotations

from cobuild_contracts import Envelope, topics
from cobuild_contracts.events.commitments import CommitmentFulfilled
from cobuild_contracts.events.evaluation import MemberScored
from cobuild_kit.consumer import BatchContext, ConsumerSpec, EventContext
from cobuild_kit.parties import follow_parties

from cobuild_points.usecases import awards, honours

# Not prompt: nobody stands waiting for an award (the member is not the admin who confirmed),
# and at the relaxed 100 ms wait a quiet topic costs the broker a fifth of the fetches.
commitments = ConsumerSpec(purpose="commitments", topics=[topics.COMMITMENTS], prompt=False)
evaluation = ConsumerSpec(purpose="evaluation", topics=[topics.EVALUATION], prompt=False)
agreements = follow_parties(
    ConsumerSpec(purpose="agreements", topics=[topics.AGREEMENTS], prompt=False)
)


@commitments.on_many(CommitmentFulfilled)
async def on_fulfilled(
    ctx: BatchContext, items: list[tuple[Envelope, CommitmentFulfilled]]
) -> None:
    """Each participant once per event (inbox + the ledger's unique cause key). A run of
    events is awarded at once, in order (one statement per table)."""
    await awards.award_tasks(ctx.conn, ctx.emit, items)


@evaluation.on(MemberScored)
async def on_scored(ctx: EventContext, event: MemberScored) -> None:
    """The latest assessment of a member-year wins (events are keyed by member, so ordered)."""
    await honours.record_score(ctx.conn, event)
