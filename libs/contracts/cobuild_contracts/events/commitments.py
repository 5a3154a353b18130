"""Events of the commitments service (fulfil), on ``commitments.events.v1``.

Every event is keyed by ``commitment_id``, so one commitment's history stays in order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import Field, ValidationInfo, field_validator

from .. import topics
from ..base import (
    MAX_QUANTITY,
    BusinessDate,
    ByteSize,
    CategoryCode,
    Contract,
    Days,
    Event,
    Fen,
    Hours,
    Percent,
    Quantity,
    Reason,
    Text,
    Title,
    Unit,
    UtcDatetime,
)
from ..enums import ItemKind


class _CommitmentsEvent(Event):
    TOPIC: ClassVar[str] = topics.COMMITMENTS
    KEY_FIELD: ClassVar[str] = "commitment_id"


class CommitmentOpened(_CommitmentsEvent):
    """A commitment opened from a signed (or amended) agreement's item."""

    EVENT_TYPE: ClassVar[str] = "commitment.opened"

    commitment_id: UUID
    agreement_id: UUID
    community_id: UUID
    unit_id: UUID
    obligor_party_id: UUID
    beneficiary_party_id: UUID
    title: Title
    kind: ItemKind
    category: CategoryCode
    deadline: BusinessDate
    funds_fen: Fen = 0
    quantity: Quantity = 1
    quantity_unit: Unit = "item"
    opened_at: UtcDatetime


class TaskClaimed(_CommitmentsEvent):
    EVENT_TYPE: ClassVar[str] = "task.claimed"

    commitment_id: UUID
    party_id: UUID  # the obligor party
    claimed_by: str = Field(min_length=1, max_length=200)  # the actor's token subject
    claimed_at: UtcDatetime


class TaskAssigned(_CommitmentsEvent):
    """The obligor's members assigned to the task (replaces any earlier assignment)."""

    EVENT_TYPE: ClassVar[str] = "task.assigned"

    commitment_id: UUID
    member_ids: list[UUID] = Field(min_length=1)
    assigned_at: UtcDatetime

    @field_validator("member_ids")
    @classmethod
    def _unique(cls, value: list[UUID]) -> list[UUID]:
        if len(set(value)) != len(value):
            raise ValueError("duplicate member id")
        return value


class CommitmentProgressed(_CommitmentsEvent):
    EVENT_TYPE: ClassVar[str] = "commitment.progressed"

    commitment_id: UUID
    percent: Percent
    note: Text = ""
    paid_fen: Fen | None = None  # funds paid so far, when the item carries funds
    payment_ref: str | None = Field(default=None, max_length=200)
    reported_at: UtcDatetime


class EvidenceSubmitted(_CommitmentsEvent):
    """Metadata of an evidence file; the file itself stays in the commitments service."""

    EVENT_TYPE: ClassVar[str] = "evidence.submitted"

    commitment_id: UUID
    evidence_id: UUID
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    content_type: str = Field(pattern=r"^[\w.+-]+/[\w.+-]+$", max_length=200)
    size_bytes: ByteSize
    filename: str = Field(min_length=1, max_length=255)
    submitted_at: UtcDatetime


class CommitmentMarkedDone(_CommitmentsEvent):
    """The obligor marked the work done; the beneficiary confirms it (commitment.fulfilled) or
    refuses it next. Completion is a fact only once confirmed, so the ledger counts nothing
    from this; it tells the beneficiary's workers a confirmation waits. Added in v1 (issue 37)."""

    EVENT_TYPE: ClassVar[str] = "commitment.marked_done"

    commitment_id: UUID
    obligor_party_id: UUID
    beneficiary_party_id: UUID
    done_at: UtcDatetime
    done_date: BusinessDate  # the Asia/Shanghai business date it was marked done


class Participant(Contract):
    """A member who took part in fulfilling a commitment, and for how long."""

    member_id: UUID
    hours: Hours


class CommitmentFulfilled(_CommitmentsEvent):
    """The beneficiary confirmed completion. Points awards the participants from this;
    evaluation books the fulfilment."""

    EVENT_TYPE: ClassVar[str] = "commitment.fulfilled"

    commitment_id: UUID
    agreement_id: UUID
    community_id: UUID
    unit_id: UUID
    obligor_party_id: UUID
    beneficiary_party_id: UUID
    participants: list[Participant] = Field(default_factory=list)
    committed_quantity: Quantity
    actual_quantity: Annotated[int, Field(ge=0, le=MAX_QUANTITY)]
    partial: bool
    committed_fen: Fen
    paid_fen: Fen
    deadline: BusinessDate
    done_at: UtcDatetime
    done_date: BusinessDate  # the Asia/Shanghai business date the obligor marked it done
    confirmed_at: UtcDatetime
    # Done by the deadline counts, even if confirmed after it (ARCHITECTURE.md, "Overdue").
    on_time: bool

    @field_validator("participants")
    @classmethod
    def _unique(cls, value: list[Participant]) -> list[Participant]:
        ids = [p.member_id for p in value]
        if len(set(ids)) != len(ids):
            raise ValueError("a member appears twice")
        return value

    @field_validator("confirmed_at")
    @classmethod
    def _confirmed_after_done(cls, value: datetime, info: ValidationInfo) -> datetime:
        done = info.data.get("done_at")
        if isinstance(done, datetime) and value < done:
            raise ValueError("must not be before done_at")
        return value


class CommitmentConfirmationRefused(_CommitmentsEvent):
    EVENT_TYPE: ClassVar[str] = "commitment.confirmation_refused"

    commitment_id: UUID
    reason: Reason
    refused_at: UtcDatetime


class CommitmentOverdue(_CommitmentsEvent):
    """A one-time flag: the deadline passed unfulfilled. It may still be fulfilled later."""

    EVENT_TYPE: ClassVar[str] = "commitment.overdue"

    commitment_id: UUID
    agreement_id: UUID
    deadline: BusinessDate
    detected_at: UtcDatetime


class CommitmentCancelled(_CommitmentsEvent):
    EVENT_TYPE: ClassVar[str] = "commitment.cancelled"

    commitment_id: UUID
    agreement_id: UUID
    reason: Reason
    cancelled_at: UtcDatetime


class CommitmentReminderDue(_CommitmentsEvent):
    """A reminder for the obligor's task inbox; ``days_left`` < 0 means overdue."""

    EVENT_TYPE: ClassVar[str] = "commitment.reminder_due"

    commitment_id: UUID
    obligor_party_id: UUID
    deadline: BusinessDate
    days_left: Days
    due_at: UtcDatetime


__all__ = [
    "CommitmentCancelled",
    "CommitmentConfirmationRefused",
    "CommitmentFulfilled",
    "CommitmentMarkedDone",
    "CommitmentOpened",
    "CommitmentOverdue",
    "CommitmentProgressed",
    "CommitmentReminderDue",
    "EvidenceSubmitted",
    "Participant",
    "TaskAssigned",
    "TaskClaimed",
]
