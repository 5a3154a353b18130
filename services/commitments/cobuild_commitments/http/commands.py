"""Commands on a commitment: claim, assign, progress, done, confirm, refuse.

Each runs in one transaction: load under lock, authorize, apply the domain transition, save,
and emit its event (outbox + history).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from cobuild_contracts import (
    CommitmentConfirmationRefused,
    CommitmentFulfilled,
    CommitmentProgressed,
    Participant,
    TaskAssigned,
    TaskClaimed,
)
from cobuild_kit.clock import business_date
from cobuild_kit.errors import NotFound
from cobuild_kit.service import ActorDep, Runtime, RuntimeDep, UnitOfWork
from fastapi import APIRouter

from cobuild_commitments import store
from cobuild_commitments.domain.commitment import Commitment
from cobuild_commitments.http.access import as_beneficiary, as_obligor, domain_rules
from cobuild_commitments.http.models import (
    AssignIn,
    CommitmentOut,
    ConfirmIn,
    DoneIn,
    ProgressIn,
    RefuseIn,
)
from cobuild_commitments.workers import raise_overdue, settings_of

router = APIRouter(prefix="/commitments", tags=["commitments"])
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "illegal transition: the message names the current state"}
}


@asynccontextmanager
async def locked(rt: Runtime, commitment_id: UUID) -> AsyncIterator[tuple[UnitOfWork, Commitment]]:
    async with rt.unit_of_work() as uow:
        c = await store.load(uow.conn, commitment_id, lock=True)
        if c is None:
            raise NotFound(f"no commitment {commitment_id}", field="path.commitment_id")
        yield uow, c


def out(rt: Runtime, c: Commitment, now: datetime) -> CommitmentOut:
    return CommitmentOut.of(c, business_date(now), settings_of(rt).reminder_days)


@router.post("/{commitment_id}/claim", responses=_CONFLICT)
async def claim(commitment_id: UUID, actor: ActorDep, rt: RuntimeDep) -> CommitmentOut:
    """The obligor party's admin takes the task on."""
    now = rt.clock.now()
    async with locked(rt, commitment_id) as (uow, c):
        await as_obligor(uow.conn, actor, c, "claim this task")
        with domain_rules():
            after = c.claim(actor.subject, now)
        event = TaskClaimed(
            commitment_id=c.commitment_id,
            party_id=c.obligor_party_id,
            claimed_by=actor.subject,
            claimed_at=now,
        )
        await store.save_and_record(uow.conn, uow.emit, after, event)
    return out(rt, after, now)


@router.put("/{commitment_id}/assignees", responses=_CONFLICT)
async def assign(
    commitment_id: UUID, body: AssignIn, actor: ActorDep, rt: RuntimeDep
) -> CommitmentOut:
    """Assign the obligor's members (ids only; replaces the earlier assignment)."""
    now = rt.clock.now()
    async with locked(rt, commitment_id) as (uow, c):
        await as_obligor(uow.conn, actor, c, "assign members")
        with domain_rules():
            after = c.assign(tuple(body.member_ids))
        event = TaskAssigned(
            commitment_id=c.commitment_id, member_ids=list(after.member_ids), assigned_at=now
        )
        await store.save_and_record(uow.conn, uow.emit, after, event)
    return out(rt, after, now)


@router.post("/{commitment_id}/progress", responses=_CONFLICT)
async def progress(
    commitment_id: UUID, body: ProgressIn, actor: ActorDep, rt: RuntimeDep
) -> CommitmentOut:
    """Report progress; for funds, the amount paid so far (fen) and the payment reference."""
    now = rt.clock.now()
    async with locked(rt, commitment_id) as (uow, c):
        await as_obligor(uow.conn, actor, c, "report progress")
        with domain_rules():
            after = c.progress(body.percent, body.note, body.paid_fen, body.payment_ref)
        event = CommitmentProgressed(
            commitment_id=c.commitment_id,
            percent=body.percent,
            note=body.note,
            paid_fen=body.paid_fen,
            payment_ref=body.payment_ref,
            reported_at=now,
        )
        await store.save_and_record(uow.conn, uow.emit, after, event)
    return out(rt, after, now)


@router.post("/{commitment_id}/done", responses=_CONFLICT)
async def mark_done(
    commitment_id: UUID, body: DoneIn, actor: ActorDep, rt: RuntimeDep
) -> CommitmentOut:
    """The obligor marks the work done; the beneficiary confirms or refuses it next.
    No event: completion is a fact only once confirmed; the history keeps the step."""
    now = rt.clock.now()
    async with locked(rt, commitment_id) as (uow, c):
        await as_obligor(uow.conn, actor, c, "mark it done")
        with domain_rules():
            after = c.mark_done(
                now, tuple(p.domain() for p in body.participants), body.actual_quantity
            )
        await store.save_and_note(
            uow.conn,
            after,
            "commitment.marked_done",
            now,
            {
                "done_at": now.isoformat(),
                "actual_quantity": after.actual_quantity,
                "participants": [
                    {"member_id": str(p.member_id), "hours": str(p.hours)}
                    for p in after.participants
                ],
            },
        )
    return out(rt, after, now)


def fulfilled_event(c: Commitment) -> CommitmentFulfilled:
    assert c.done_at is not None and c.confirmed_at is not None and c.done_date is not None
    return CommitmentFulfilled(
        commitment_id=c.commitment_id,
        agreement_id=c.agreement_id,
        community_id=c.community_id,
        unit_id=c.unit_id,
        obligor_party_id=c.obligor_party_id,
        beneficiary_party_id=c.beneficiary_party_id,
        participants=[Participant(member_id=p.member_id, hours=p.hours) for p in c.participants],
        committed_quantity=c.quantity,
        actual_quantity=c.delivered_quantity,
        partial=c.partial,
        committed_fen=c.funds_fen,
        paid_fen=c.paid_fen,
        deadline=c.deadline,
        done_at=c.done_at,
        done_date=c.done_date,
        confirmed_at=c.confirmed_at,
        on_time=c.on_time,
    )


@router.post("/{commitment_id}/confirm", responses=_CONFLICT)
async def confirm(
    commitment_id: UUID, actor: ActorDep, rt: RuntimeDep, body: ConfirmIn | None = None
) -> CommitmentOut:
    """The beneficiary party's admin confirms completion: commitment.fulfilled."""
    body = body or ConfirmIn()
    now = rt.clock.now()
    async with locked(rt, commitment_id) as (uow, c):
        await as_beneficiary(uow.conn, actor, c, "confirm this commitment")
        participants = (
            None if body.participants is None else tuple(p.domain() for p in body.participants)
        )
        with domain_rules():
            after = c.confirm(
                actor.party_id, actor.subject, now, participants, body.actual_quantity
            )
        await store.save_and_record(uow.conn, uow.emit, after, fulfilled_event(after))
    return out(rt, after, now)


@router.post("/{commitment_id}/refuse", responses=_CONFLICT)
async def refuse(
    commitment_id: UUID, body: RefuseIn, actor: ActorDep, rt: RuntimeDep
) -> CommitmentOut:
    """The beneficiary refuses, with a reason: back to in progress. Past the deadline, the
    commitment is flagged overdue at once (DESIGN §7)."""
    now = rt.clock.now()
    async with locked(rt, commitment_id) as (uow, c):
        await as_beneficiary(uow.conn, actor, c, "refuse this commitment")
        with domain_rules():
            after = c.refuse()
        event = CommitmentConfirmationRefused(
            commitment_id=c.commitment_id, reason=body.reason, refused_at=now
        )
        await store.save_and_record(uow.conn, uow.emit, after, event)
        if after.overdue_due(business_date(now)) and await raise_overdue(uow, after, now):
            after = await store.load(uow.conn, commitment_id, lock=False) or after
    return out(rt, after, now)
