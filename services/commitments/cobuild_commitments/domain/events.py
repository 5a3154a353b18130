"""Each transition's contract event, built from the state it produced: the one place HTTP
commands, the agreement consumers and the deadlines worker get their events from.

Marking done publishes no event (completion is a fact only once confirmed); the history keeps
the step as a note, shaped here too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cobuild_contracts import (
    CommitmentCancelled,
    CommitmentConfirmationRefused,
    CommitmentFulfilled,
    CommitmentOpened,
    CommitmentOverdue,
    CommitmentProgressed,
    CommitmentReminderDue,
    EvidenceSubmitted,
    ItemKind,
    Participant,
    TaskAssigned,
    TaskClaimed,
)
from cobuild_contracts.events.commitments import CommitmentMarkedDone
from cobuild_kit.clock import business_date

from cobuild_commitments.domain.commitment import Commitment
from cobuild_commitments.domain.evidence import Evidence

# The history's name for the done step, which has no contract event.
MARKED_DONE = "commitment.marked_done"


def opened(c: Commitment) -> CommitmentOpened:
    return CommitmentOpened(
        commitment_id=c.commitment_id,
        agreement_id=c.agreement_id,
        community_id=c.community_id,
        unit_id=c.unit_id,
        obligor_party_id=c.obligor_party_id,
        beneficiary_party_id=c.beneficiary_party_id,
        title=c.title,
        kind=ItemKind(c.kind),
        category=c.category,
        deadline=c.deadline,
        funds_fen=c.funds_fen,
        quantity=c.quantity,
        quantity_unit=c.quantity_unit,
        opened_at=c.opened_at,
    )


def claimed(c: Commitment) -> TaskClaimed:
    assert c.claimed_by is not None and c.claimed_at is not None
    return TaskClaimed(
        commitment_id=c.commitment_id,
        party_id=c.obligor_party_id,
        claimed_by=c.claimed_by,
        claimed_at=c.claimed_at,
    )


def assigned(c: Commitment, at: datetime) -> TaskAssigned:
    return TaskAssigned(
        commitment_id=c.commitment_id, member_ids=list(c.member_ids), assigned_at=at
    )


def progressed(
    c: Commitment,
    percent: int,
    note: str,
    paid_fen: int | None,
    payment_ref: str | None,
    at: datetime,
) -> CommitmentProgressed:
    """The report as given: an absent payment stays absent, though the state keeps the last."""
    return CommitmentProgressed(
        commitment_id=c.commitment_id,
        percent=percent,
        note=note,
        paid_fen=paid_fen,
        payment_ref=payment_ref,
        reported_at=at,
    )


def marked_done(c: Commitment) -> CommitmentMarkedDone:
    """Told to the beneficiary (a confirmation waits); the ledger counts only fulfilment."""
    assert c.done_at is not None
    return CommitmentMarkedDone(
        commitment_id=c.commitment_id,
        obligor_party_id=c.obligor_party_id,
        beneficiary_party_id=c.beneficiary_party_id,
        done_at=c.done_at,
        done_date=business_date(c.done_at),
    )


def marked_done_note(c: Commitment) -> dict[str, Any]:
    """The history payload of the done step."""
    assert c.done_at is not None
    return {
        "done_at": c.done_at.isoformat(),
        "actual_quantity": c.actual_quantity,
        "participants": [
            {"member_id": str(p.member_id), "hours": str(p.hours)} for p in c.participants
        ],
    }


def fulfilled(c: Commitment) -> CommitmentFulfilled:
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


def refused(c: Commitment, reason: str, at: datetime) -> CommitmentConfirmationRefused:
    return CommitmentConfirmationRefused(
        commitment_id=c.commitment_id, reason=reason, refused_at=at
    )


def cancelled(c: Commitment) -> CommitmentCancelled:
    assert c.cancel_reason is not None and c.cancelled_at is not None
    return CommitmentCancelled(
        commitment_id=c.commitment_id,
        agreement_id=c.agreement_id,
        reason=c.cancel_reason,
        cancelled_at=c.cancelled_at,
    )


def overdue(c: Commitment, at: datetime) -> CommitmentOverdue:
    return CommitmentOverdue(
        commitment_id=c.commitment_id,
        agreement_id=c.agreement_id,
        deadline=c.deadline,
        detected_at=at,
    )


def reminder_due(c: Commitment, at: datetime) -> CommitmentReminderDue:
    return CommitmentReminderDue(
        commitment_id=c.commitment_id,
        obligor_party_id=c.obligor_party_id,
        deadline=c.deadline,
        days_left=c.days_left(business_date(at)),
        due_at=at,
    )


def evidence_submitted(e: Evidence) -> EvidenceSubmitted:
    return EvidenceSubmitted(
        commitment_id=e.commitment_id,
        evidence_id=e.evidence_id,
        sha256=e.sha256,
        content_type=e.content_type,
        size_bytes=e.size_bytes,
        filename=e.filename,
        submitted_at=e.uploaded_at,
    )
