"""What the alliance and joint-meeting API answers: one model per answer. Money is integer
fen; dates are ISO business dates. A decision's fulfilment is the ledger's (the evaluation
service's): a decision names its `commitment_id`, by which the ledger reads it
(`GET /ledger?scope=commitment&id=...`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg
from cobuild_contracts import CommitmentItem, ItemKind, PartyKind
from cobuild_contracts.enums import RotationMode
from pydantic import BaseModel, Field

from cobuild_agreements.domain.alliances import Turn
from cobuild_agreements.domain.negotiation import AgreementState
from cobuild_agreements.usecases.alliances import AllianceView
from cobuild_agreements.usecases.meetings import MeetingView, RotationView


class AllianceSummary(BaseModel):
    alliance_id: UUID
    host_party_id: UUID = Field(description="the street or community whose alliance it is")
    host_kind: PartyKind
    name: str
    formed_on: date
    mode: RotationMode
    period_months: int | None
    formed_at: datetime


class StintOut(BaseModel):
    unit_id: UUID
    joined_on: date
    left_on: date | None = Field(description="the first day it was no longer a member")


class AllianceOut(AllianceSummary):
    members: list[StintOut] = Field(description="every stint of every unit, with its dates")
    current_member_ids: list[UUID] = Field(description="the members today")
    order: list[UUID] = Field(description="the rotation order in force today")
    next_chair_unit_id: UUID | None = Field(
        description="whose turn it is to chair a meeting held today"
    )
    meetings_held: int
    last_meeting_on: date | None

    @classmethod
    def of(cls, v: AllianceView) -> AllianceOut:
        last = v.last_meeting
        return cls.model_validate(
            {
                **dict(v.row),
                "members": [dict(s) for s in v.stints],
                "current_member_ids": v.members_now,
                "order": list(v.rotation.order_on(v.today)),
                "next_chair_unit_id": v.next_chair,
                "meetings_held": last["number"] if last else 0,
                "last_meeting_on": last["held_on"] if last else None,
            }
        )


class OrderVersionOut(BaseModel):
    version: int
    effective_from: date
    order: list[UUID]
    set_at: datetime


class ChairedOut(BaseModel):
    meeting_id: UUID
    number: int
    held_on: date
    chair_unit_id: UUID


class TurnOut(BaseModel):
    number: int = Field(description="the meeting's number, or the period's (from 1)")
    starts_on: date | None = Field(description="per period: the period's first day")
    chair_unit_id: UUID | None = Field(description="null when no member can chair")

    @classmethod
    def of(cls, t: Turn) -> TurnOut:
        return cls(number=t.number, starts_on=t.starts_on, chair_unit_id=t.chair_unit_id)


class RotationOut(BaseModel):
    alliance_id: UUID
    mode: RotationMode
    period_months: int | None
    order: list[UUID] = Field(description="the latest order")
    versions: list[OrderVersionOut] = Field(description="every order, each from its date")
    next_chair_unit_id: UUID | None = Field(
        description="whose turn it is to chair a meeting held today"
    )
    upcoming: list[TurnOut] = Field(
        description="the next turns as today's members and order give them (per period: "
        "from the current period on)"
    )
    history: list[ChairedOut] = Field(description="who chaired each meeting, in order")
    periods: list[TurnOut] = Field(
        description="per period: every period so far with its chair; empty per meeting"
    )

    @classmethod
    def of(cls, v: RotationView) -> RotationOut:
        return cls(
            alliance_id=v.alliance["alliance_id"],
            mode=v.rotation.mode,
            period_months=v.rotation.period_months,
            order=list(v.rotation.latest.units),
            versions=[
                OrderVersionOut(
                    version=r["version"],
                    effective_from=r["effective_from"],
                    order=list(r["unit_ids"]),
                    set_at=r["set_at"],
                )
                for r in v.versions
            ],
            next_chair_unit_id=v.next_chair,
            upcoming=[TurnOut.of(t) for t in v.upcoming],
            history=[ChairedOut.model_validate(dict(r)) for r in v.history],
            periods=[TurnOut.of(t) for t in v.periods],
        )


class DecisionOut(BaseModel):
    """A decision and the commitment it became. Its fulfilment as the ledger sees it is read
    from the evaluation service by `commitment_id`."""

    decision_id: UUID
    meeting_id: UUID
    alliance_id: UUID
    number: int = Field(description="its number within the meeting")
    meeting_number: int
    held_on: date
    title: str
    description: str
    kind: ItemKind
    category: str
    responsible_unit_id: UUID
    beneficiary_community_id: UUID
    responsible_title: str
    deadline: date
    funds_fen: int
    quantity: int
    quantity_unit: str
    agreement_id: UUID
    commitment_id: UUID
    agreement_state: AgreementState
    cancelled: bool = Field(description="cancelled by an amendment or termination")
    made_at: datetime

    @classmethod
    def of(cls, r: asyncpg.Record) -> DecisionOut:
        item = CommitmentItem.model_validate(r["item"])
        fields: dict[str, Any] = {
            k: r[k]
            for k in (
                "decision_id",
                "meeting_id",
                "alliance_id",
                "number",
                "meeting_number",
                "held_on",
                "agreement_id",
                "commitment_id",
                "agreement_state",
                "made_at",
            )
        }
        return cls(
            **fields,
            title=item.title,
            description=item.description,
            kind=item.kind,
            category=item.category,
            responsible_unit_id=item.obligor_party_id,
            beneficiary_community_id=item.beneficiary_party_id,
            responsible_title=item.responsible_title,
            deadline=item.deadline,
            funds_fen=item.funds_fen,
            quantity=item.quantity,
            quantity_unit=item.quantity_unit,
            cancelled=r["cancelled_at"] is not None or r["agreement_state"] == "terminated",
        )


class MeetingSummary(BaseModel):
    meeting_id: UUID
    alliance_id: UUID
    number: int
    held_on: date
    title: str
    place: str
    chair_unit_id: UUID
    present_unit_ids: list[UUID]
    decision_count: int
    recorded_at: datetime


class MeetingOut(BaseModel):
    meeting_id: UUID
    alliance_id: UUID
    number: int
    held_on: date
    title: str
    place: str
    chair_unit_id: UUID
    present_unit_ids: list[UUID]
    absent_unit_ids: list[UUID] = Field(description="members that day who did not attend")
    agenda: list[str]
    minutes: str
    recorded_at: datetime
    decisions: list[DecisionOut]

    @classmethod
    def of(cls, v: MeetingView) -> MeetingOut:
        row = dict(v.row)
        row.pop("recorded_by", None)  # a person's subject: not part of the record shown
        return cls.model_validate(
            {
                **row,
                "absent_unit_ids": v.absent,
                "decisions": [DecisionOut.of(d) for d in v.decisions],
            }
        )
