"""Events in: fulfilled commitments award their participants (rule `task`), year-end member
scores feed the honour roll, and the parties directory feeds scope checks."""

from __future__ import annotations

from uuid import UUID

from cobuild_contracts import Envelope, topics
from cobuild_contracts.events.commitments import CommitmentFulfilled, Participant
from cobuild_contracts.events.evaluation import MemberScored
from cobuild_kit.consumer import BatchContext, ConsumerSpec, EventContext
from cobuild_kit.logging import get_logger
from cobuild_kit.parties import follow_parties

from cobuild_points import awards
from cobuild_points.store import members

log = get_logger(__name__)

# Not prompt: nobody stands waiting for an award (the member is not the admin who confirmed),
# and at the relaxed 100 ms wait a quiet topic costs the broker a fifth of the fetches.
commitments = ConsumerSpec(purpose="commitments", topics=[topics.COMMITMENTS], prompt=False)
evaluation = ConsumerSpec(purpose="evaluation", topics=[topics.EVALUATION], prompt=False)
agreements = follow_parties(
    ConsumerSpec(purpose="agreements", topics=[topics.AGREEMENTS], prompt=False)
)

TASK_RULE = "task"  # the rule set's code for co-building task participation
_LOGGED_IDS = 20  # member ids named in a run's unknown-participants line


@commitments.on_many(CommitmentFulfilled)
async def on_fulfilled(
    ctx: BatchContext, items: list[tuple[Envelope, CommitmentFulfilled]]
) -> None:
    """Each participant once per event (inbox + the ledger's unique cause key); the business
    date is the day the work was done, so replays award the same. A run of events is awarded
    at once, in order (one statement per table)."""
    ids = {p.member_id for _, e in items for p in e.participants}
    known = await members.placements(ctx.conn, list(ids))
    reqs: list[tuple[Envelope, awards.AwardRequest]] = []
    unknown: list[str] = []
    for env, event in items:
        for participant in event.participants:
            if participant.member_id not in known:
                unknown.append(str(participant.member_id))
            reqs.append((env, _task_award(env, event, participant, known)))
    if unknown:  # one line per run: a line per event would cost more than the award
        log.warning(
            "points.unknown_participants",
            count=len(unknown),
            member_ids=sorted(set(unknown))[:_LOGGED_IDS],
        )
    await awards.award_many(ctx.conn, ctx.emit, reqs)


def _task_award(
    env: Envelope,
    event: CommitmentFulfilled,
    participant: Participant,
    known: dict[UUID, tuple[UUID | None, UUID]],
) -> awards.AwardRequest:
    placement = known.get(participant.member_id)
    if placement is None:  # not registered here (yet): still theirs, booked where the work was
        log.debug(
            "points.unknown_participant",
            member_id=str(participant.member_id),
            commitment_id=str(event.commitment_id),
        )
    community_id = (placement and placement[0]) or event.community_id
    unit_id = placement[1] if placement else event.unit_id
    return awards.AwardRequest(
        member_id=participant.member_id,
        rule_code=TASK_RULE,
        hours=participant.hours,
        cause_event_id=env.event_id,
        business_date=event.done_date,
        source_id=event.commitment_id,
        community_id=community_id,
        unit_id=unit_id,
        at=event.confirmed_at,
        what=f"commitment {event.commitment_id}",
    )


@evaluation.on(MemberScored)
async def on_scored(ctx: EventContext, event: MemberScored) -> None:
    """The latest assessment of a member-year wins (events are keyed by member, so ordered)."""
    await ctx.conn.execute(
        """INSERT INTO member_score (member_id, year, assessment_id, policy_version, community_id,
               unit_id, score, grade, rank_in_community)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (member_id, year) DO UPDATE SET assessment_id = EXCLUDED.assessment_id,
               policy_version = EXCLUDED.policy_version, community_id = EXCLUDED.community_id,
               unit_id = EXCLUDED.unit_id, score = EXCLUDED.score, grade = EXCLUDED.grade,
               rank_in_community = EXCLUDED.rank_in_community""",
        event.member_id,
        event.year,
        event.assessment_id,
        event.policy_version,
        event.community_id,
        event.unit_id,
        event.score,
        event.grade.value,
        event.rank_in_community,
    )
