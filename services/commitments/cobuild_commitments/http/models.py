"""Request and response bodies of the commitments API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from cobuild_contracts.base import MAX_FEN, MAX_QUANTITY, Hours
from pydantic import BaseModel, ConfigDict, Field

from cobuild_commitments.domain.commitment import Commitment, Participation, Status


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssignIn(_In):
    member_ids: list[UUID] = Field(min_length=1, max_length=500)


class ProgressIn(_In):
    percent: int = Field(ge=0, le=100)
    note: str = Field(default="", max_length=4000)
    paid_fen: int | None = Field(default=None, ge=0, le=MAX_FEN, strict=True)  # funds paid so far
    payment_ref: str | None = Field(default=None, min_length=1, max_length=200)


class ParticipantIn(_In):
    member_id: UUID
    hours: Hours

    def domain(self) -> Participation:
        return Participation(self.member_id, self.hours)


class DoneIn(_In):
    participants: list[ParticipantIn] = Field(default_factory=list, max_length=500)
    actual_quantity: int | None = Field(default=None, ge=0, le=MAX_QUANTITY)


class ConfirmIn(_In):
    # Given here, they replace what the obligor reported when marking it done.
    participants: list[ParticipantIn] | None = Field(default=None, max_length=500)
    actual_quantity: int | None = Field(default=None, ge=0, le=MAX_QUANTITY)


class RefuseIn(_In):
    reason: str = Field(min_length=1, max_length=500)


class ParticipantOut(BaseModel):
    member_id: UUID
    hours: Hours  # a decimal string, as in commitment.fulfilled


class ReminderOut(BaseModel):
    days_left: int
    reminded_at: datetime | None


class CommitmentOut(BaseModel):
    commitment_id: UUID
    agreement_id: UUID
    community_id: UUID
    unit_id: UUID
    obligor_party_id: UUID
    beneficiary_party_id: UUID
    title: str
    kind: str
    category: str
    deadline: date
    funds_fen: int
    quantity: int
    quantity_unit: str
    status: Status
    opened_at: datetime
    claimed_by: str | None
    claimed_at: datetime | None
    member_ids: list[UUID]
    percent: int
    note: str
    paid_fen: int
    payment_ref: str | None
    done_at: datetime | None
    done_date: date | None = Field(
        description="the Asia/Shanghai business date of done_at: what on_time compares with the "
        "deadline, and the date commitment.fulfilled carries (the year of its task points)"
    )
    participants: list[ParticipantOut]
    actual_quantity: int | None
    partial: bool | None
    on_time: bool | None
    confirmed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    overdue: bool = Field(
        description="the one-time overdue flag; see the API description for when it is raised"
    )
    overdue_at: datetime | None
    # Set when a reminder is due or sent and the work is still owed (task inbox).
    reminder: ReminderOut | None

    @classmethod
    def of(cls, c: Commitment, today: date, reminder_days: int) -> CommitmentOut:
        owed = c.status in (Status.OPENED, Status.CLAIMED, Status.IN_PROGRESS)
        remind = owed and (c.reminded_at is not None or c.days_left(today) <= reminder_days)
        fulfilled = c.status == Status.FULFILLED
        data: dict[str, Any] = {
            k: getattr(c, k) for k in cls.model_fields if hasattr(c, k) and k != "partial"
        }
        data.update(
            member_ids=list(c.member_ids),
            participants=[
                ParticipantOut(member_id=p.member_id, hours=p.hours) for p in c.participants
            ],
            partial=c.partial if fulfilled else None,
            on_time=c.on_time if fulfilled else None,
            overdue=c.overdue_at is not None,
            reminder=ReminderOut(days_left=c.days_left(today), reminded_at=c.reminded_at)
            if remind
            else None,
        )
        return cls(**data)


class HistoryEntry(BaseModel):
    seq: int
    event_id: UUID
    event_type: str
    occurred_at: datetime
    # The event's payload as published; its schema is docs/contracts/<event_type>.schema.json.
    payload: dict[str, Any]
    published: bool  # false for steps that publish no event (marking done)


class EvidenceOut(BaseModel):
    evidence_id: UUID
    commitment_id: UUID
    sha256: str
    content_type: str
    size_bytes: int
    filename: str
    uploaded_by: str
    uploaded_at: datetime
