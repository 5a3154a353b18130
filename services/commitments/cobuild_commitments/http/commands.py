"""Commands on a commitment: claim, assign, progress, done, confirm, refuse.

Each handler parses, calls its use case (`usecases.commands`) with one business-clock reading,
and shapes the commitment it returns. Every one names a commitment by its path id (404) and may
be refused by its current state (409); a party one may not act for is a 403 with the reason.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from cobuild_kit.api import AUTHENTICATED, refusals
from cobuild_kit.clock import business_date
from cobuild_kit.service import ActorDep
from fastapi import APIRouter

from cobuild_commitments.domain.commitment import Commitment
from cobuild_commitments.http.models import (
    AssignIn,
    CommitmentOut,
    ConfirmIn,
    DoneIn,
    ProgressIn,
    RefuseIn,
)
from cobuild_commitments.settings import CommitmentsRuntime, RuntimeDep
from cobuild_commitments.usecases import commands

router = APIRouter(prefix="/commitments", tags=["commitments"], responses=AUTHENTICATED)
_REFUSALS = refusals(404, 409)


def out(rt: CommitmentsRuntime, c: Commitment, now: datetime) -> CommitmentOut:
    return CommitmentOut.of(c, business_date(now), rt.settings.reminder_days)


@router.post("/{commitment_id}/claim", responses=_REFUSALS)
async def claim(commitment_id: UUID, actor: ActorDep, rt: RuntimeDep) -> CommitmentOut:
    """The obligor party's admin takes the task on (from `opened`)."""
    now = rt.clock.now()
    return out(rt, await commands.claim(rt, actor, commitment_id, now), now)


@router.put("/{commitment_id}/assignees", responses=_REFUSALS)
async def assign(
    commitment_id: UUID, body: AssignIn, actor: ActorDep, rt: RuntimeDep
) -> CommitmentOut:
    """Assign the obligor's members (ids only; replaces the earlier assignment). Each must be
    currently registered with the obligor party: 422 naming the item (`body.member_ids.2`)
    otherwise, "not (yet)" since a member accepted a moment ago may not be known here yet."""
    now = rt.clock.now()
    after = await commands.assign(rt, actor, commitment_id, tuple(body.member_ids), now)
    return out(rt, after, now)


@router.post("/{commitment_id}/progress", responses=_REFUSALS)
async def progress(
    commitment_id: UUID, body: ProgressIn, actor: ActorDep, rt: RuntimeDep
) -> CommitmentOut:
    """Report progress; for funds, the amount paid so far (fen) and the payment reference."""
    now = rt.clock.now()
    after = await commands.progress(
        rt,
        actor,
        commitment_id,
        percent=body.percent,
        note=body.note,
        paid_fen=body.paid_fen,
        payment_ref=body.payment_ref,
        now=now,
    )
    return out(rt, after, now)


@router.post("/{commitment_id}/done", responses=_REFUSALS)
async def mark_done(
    commitment_id: UUID, body: DoneIn, actor: ActorDep, rt: RuntimeDep
) -> CommitmentOut:
    """The obligor marks the work done; the beneficiary confirms or refuses it next.

    The moment is `done_at`, its Asia/Shanghai date `done_date`: marked done on or before the
    deadline, the commitment is on time however late it is confirmed, and is not flagged
    overdue while it waits. No event: completion is a fact only once confirmed; the history
    keeps the step. Participants must be currently registered with the obligor party (422
    naming the item, `body.participants.0.member_id`)."""
    now = rt.clock.now()
    participants = tuple(p.domain() for p in body.participants)
    after = await commands.mark_done(
        rt, actor, commitment_id, participants, body.actual_quantity, now
    )
    return out(rt, after, now)


@router.post("/{commitment_id}/confirm", responses=_REFUSALS)
async def confirm(
    commitment_id: UUID, actor: ActorDep, rt: RuntimeDep, body: ConfirmIn | None = None
) -> CommitmentOut:
    """The beneficiary party's admin confirms completion: commitment.fulfilled.

    Participants and quantity given here replace what the obligor reported. The event carries
    `done_date`, the Asia/Shanghai business date on which the obligor marked the work done
    (the last time, if it was refused before), not the date of this confirmation: the points
    service awards the participants' task points in that date's year, so work marked done on
    31 December and confirmed in January counts for the year it was done. `on_time` compares
    the same `done_date` with the deadline. A member assigned to the task may not confirm it
    (403). Replacement participants must be the obligor party's registered members (422)."""
    body = body or ConfirmIn()
    now = rt.clock.now()
    participants = (
        None if body.participants is None else tuple(p.domain() for p in body.participants)
    )
    after = await commands.confirm(
        rt, actor, commitment_id, participants, body.actual_quantity, now
    )
    return out(rt, after, now)


@router.post("/{commitment_id}/refuse", responses=_REFUSALS)
async def refuse(
    commitment_id: UUID, body: RefuseIn, actor: ActorDep, rt: RuntimeDep
) -> CommitmentOut:
    """The beneficiary refuses, with a reason: back to in progress, and the done date no longer
    counts (only the next marking done decides `on_time`). Refused after the deadline's
    business date, the commitment is flagged overdue at once, in the refusal's own transaction
    (commitment.confirmation_refused, then commitment.overdue); refused on or before it, the
    deadlines worker flags it after the deadline if it is still owed (ARCHITECTURE.md,
    "Overdue")."""
    now = rt.clock.now()
    return out(rt, await commands.refuse(rt, actor, commitment_id, body.reason, now), now)
