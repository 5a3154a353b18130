"""Commands on a commitment: claim, assign, progress, done, confirm, refuse.

Each runs in one transaction: load under lock, authorize, apply the domain transition, save,
and emit its event (outbox + history). `now` is the caller's business-clock reading, so the
answer it shapes sees the same instant.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from cobuild_kit.auth import Actor
from cobuild_kit.clock import business_date

from cobuild_commitments.domain import events
from cobuild_commitments.domain.commitment import Commitment, Participation
from cobuild_commitments.settings import CommitmentsRuntime
from cobuild_commitments.store import commitments
from cobuild_commitments.usecases.access import as_beneficiary, as_obligor, domain_rules
from cobuild_commitments.usecases.deadlines import raise_overdue
from cobuild_commitments.usecases.lookup import locked
from cobuild_commitments.usecases.members import require_registered


async def claim(
    rt: CommitmentsRuntime, actor: Actor, commitment_id: UUID, now: datetime
) -> Commitment:
    """The obligor party's admin takes the task on."""
    async with locked(rt, commitment_id) as (uow, c):
        await as_obligor(uow.conn, actor, c, "claim this task")
        with domain_rules():
            after = c.claim(actor.subject, now)
        await commitments.save_and_record(uow.conn, uow.emit, after, events.claimed(after))
    return after


async def assign(
    rt: CommitmentsRuntime,
    actor: Actor,
    commitment_id: UUID,
    member_ids: tuple[UUID, ...],
    now: datetime,
) -> Commitment:
    """Assign the obligor's members (replaces the earlier assignment); each must be currently
    registered with the obligor party (422 naming the item otherwise)."""
    async with locked(rt, commitment_id) as (uow, c):
        await as_obligor(uow.conn, actor, c, "assign members")
        with domain_rules():
            after = c.assign(member_ids)
        await require_registered(uow.conn, c, member_ids, "body.member_ids.{}")
        await commitments.save_and_record(uow.conn, uow.emit, after, events.assigned(after, now))
    return after


async def progress(
    rt: CommitmentsRuntime,
    actor: Actor,
    commitment_id: UUID,
    *,
    percent: int,
    note: str,
    paid_fen: int | None,
    payment_ref: str | None,
    now: datetime,
) -> Commitment:
    """Report progress; for funds, the amount paid so far (fen) and the payment reference."""
    async with locked(rt, commitment_id) as (uow, c):
        await as_obligor(uow.conn, actor, c, "report progress")
        with domain_rules():
            after = c.progress(percent, note, paid_fen, payment_ref)
        event = events.progressed(after, percent, note, paid_fen, payment_ref, now)
        await commitments.save_and_record(uow.conn, uow.emit, after, event)
    return after


async def mark_done(
    rt: CommitmentsRuntime,
    actor: Actor,
    commitment_id: UUID,
    participants: tuple[Participation, ...],
    actual_quantity: int | None,
    now: datetime,
) -> Commitment:
    """The obligor marks the work done; the beneficiary confirms or refuses it next.
    commitment.marked_done tells the beneficiary a confirmation waits; completion is a fact
    only once confirmed (the ledger counts fulfilment only); the history keeps the step.
    Participants must be currently registered with the obligor party (422 naming the item)."""
    async with locked(rt, commitment_id) as (uow, c):
        await as_obligor(uow.conn, actor, c, "mark it done")
        with domain_rules():
            after = c.mark_done(now, participants, actual_quantity)
        await require_registered(
            uow.conn, c, [p.member_id for p in participants], "body.participants.{}.member_id"
        )
        note = events.marked_done_note(after)
        await commitments.save_and_note(uow.conn, after, events.MARKED_DONE, now, note)
        await uow.emit(events.marked_done(after))
    return after


async def confirm(
    rt: CommitmentsRuntime,
    actor: Actor,
    commitment_id: UUID,
    participants: tuple[Participation, ...] | None,
    actual_quantity: int | None,
    now: datetime,
) -> Commitment:
    """The beneficiary party's admin confirms completion: commitment.fulfilled. Participants
    given here replace the obligor's and must be registered with the obligor party too."""
    async with locked(rt, commitment_id) as (uow, c):
        await as_beneficiary(uow.conn, actor, c, "confirm this commitment")
        with domain_rules():
            after = c.confirm(actor.party_id, actor.subject, now, participants, actual_quantity)
        if participants is not None:
            await require_registered(
                uow.conn, c, [p.member_id for p in participants], "body.participants.{}.member_id"
            )
        await commitments.save_and_record(uow.conn, uow.emit, after, events.fulfilled(after))
    return after


async def refuse(
    rt: CommitmentsRuntime, actor: Actor, commitment_id: UUID, reason: str, now: datetime
) -> Commitment:
    """The beneficiary refuses, with a reason: back to in progress. Past the deadline, the
    commitment is flagged overdue at once (ARCHITECTURE.md, "Overdue")."""
    async with locked(rt, commitment_id) as (uow, c):
        await as_beneficiary(uow.conn, actor, c, "refuse this commitment")
        with domain_rules():
            after = c.refuse()
        event = events.refused(after, reason, now)
        await commitments.save_and_record(uow.conn, uow.emit, after, event)
        if after.overdue_due(business_date(now)) and await raise_overdue(
            uow.conn, uow.emit, after, now
        ):
            after = await commitments.load(uow.conn, commitment_id, lock=False) or after
    return after
