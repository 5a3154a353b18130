"""Commands on a commitment: claim, assign, progress, done, confirm, refuse.

Each handler parses, calls its use case (`usecases.commands`) with one business-clock reading,
and shapes the commitment it returns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from cobuild_kit.clock import business_date
from cobuild_kit.service import ActorDep, Runtime, RuntimeDep
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
from cobuild_commitments.settings import settings_of
from cobuild_commitments.usecases import commands

router = APIRouter(prefix="/commitments", tags=["commitments"])
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "illegal transition: the message names the current state"}
}


def out(rt: Runtime, c: Commitment, now: datetime) -> CommitmentOut:
    return CommitmentOut.of(c, business_date(now), settings_of(rt).reminder_days)


@router.post("/{commitment_id}/claim", responses=_CONFLICT)
async def claim(commitment_id: UUID, actor: ActorDep, rt: RuntimeDep) -> CommitmentOut:
    """The obligor party's admin takes the task on."""
    now = rt.clock.now()
    return out(rt, await commands.claim(rt, actor, commitment_id, now), now)


@router.put("/{commitment_id}/assignees", responses=_CONFLICT)
async def assign(
    commitment_id: UUID, body: AssignIn, actor: ActorDep, rt: RuntimeDep
) -> CommitmentOut:
    """Assign the obligor's members (ids only; replaces the earlier assignment)."""
    now = rt.clock.now()
    after = await commands.assign(rt, actor, commitment_id, tuple(body.member_ids), now)
    return out(rt, after, now)


@router.post("/{commitment_id}/progress", responses=_CONFLICT)
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


@router.post("/{commitment_id}/done", responses=_CONFLICT)
async def mark_done(
    commitment_id: UUID, body: DoneIn, actor: ActorDep, rt: RuntimeDep
) -> CommitmentOut:
    """The obligor marks the work done; the beneficiary confirms or refuses it next.
    No event: completion is a fact only once confirmed; the history keeps the step."""
    now = rt.clock.now()
    participants = tuple(p.domain() for p in body.participants)
    after = await commands.mark_done(
        rt, actor, commitment_id, participants, body.actual_quantity, now
    )
    return out(rt, after, now)


@router.post("/{commitment_id}/confirm", responses=_CONFLICT)
async def confirm(
    commitment_id: UUID, actor: ActorDep, rt: RuntimeDep, body: ConfirmIn | None = None
) -> CommitmentOut:
    """The beneficiary party's admin confirms completion: commitment.fulfilled."""
    body = body or ConfirmIn()
    now = rt.clock.now()
    participants = (
        None if body.participants is None else tuple(p.domain() for p in body.participants)
    )
    after = await commands.confirm(
        rt, actor, commitment_id, participants, body.actual_quantity, now
    )
    return out(rt, after, now)


@router.post("/{commitment_id}/refuse", responses=_CONFLICT)
async def refuse(
    commitment_id: UUID, body: RefuseIn, actor: ActorDep, rt: RuntimeDep
) -> CommitmentOut:
    """The beneficiary refuses, with a reason: back to in progress. Past the deadline, the
    commitment is flagged overdue at once (ARCHITECTURE.md, "Overdue")."""
    now = rt.clock.now()
    return out(rt, await commands.refuse(rt, actor, commitment_id, body.reason, now), now)
