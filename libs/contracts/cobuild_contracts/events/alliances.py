"""Events of alliances (党建联盟) and their joint meetings (联席会议), on ``agreements.events.v1``.

The agreements service owns them (it owns parties and pairings). Every event is keyed by the
alliance, so one alliance's membership, rotation, meetings and decisions stay in order. They
carry ids only: no names, no agenda or minutes text (those stay in the service).

Membership and rotation changes are separate facts rather than one ``alliance.changed``
snapshot: a reader acts on a unit joining or leaving (a notification to that unit, a count of
member units) without diffing two snapshots, as with ``need.published`` and ``need.withdrawn``.

A decision becomes a commitment through the agreement flow: ``decision.made`` is followed by
``agreement.signed`` (origin ``meeting``) in the same transaction, and downstream acts on the
agreement only (ARCHITECTURE.md, "Alliances and the joint meeting").
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import Field, ValidationInfo, field_validator

from .. import topics
from ..base import BusinessDate, Contract, Event, Fen, UtcDatetime, Version
from ..enums import PartyKind, RotationMode

# At most this many units in one alliance's rotation or one meeting's attendance: a street's
# joint meeting has tens of units; 洮南's largest alliance had under a hundred.
MAX_UNITS = 500
PeriodMonths = Annotated[int, Field(ge=1, le=12)]
UnitIds = Annotated[list[UUID], Field(max_length=MAX_UNITS)]


def _unique(value: list[UUID]) -> list[UUID]:
    if len(set(value)) != len(value):
        raise ValueError("duplicate unit id")
    return value


class Rotation(Contract):
    """The order in which member units chair (轮值), from a business date on. A unit that
    has left is skipped when its turn comes; the order keeps it, for the history."""

    mode: RotationMode
    period_months: PeriodMonths | None = Field(default=None, validate_default=True)
    order: UnitIds
    effective_from: BusinessDate

    @field_validator("period_months")
    @classmethod
    def _period_iff_per_period(cls, value: int | None, info: ValidationInfo) -> int | None:
        mode = info.data.get("mode")
        if mode == RotationMode.PER_PERIOD and value is None:
            raise ValueError("required when mode is 'per_period'")
        if mode == RotationMode.PER_MEETING and value is not None:
            raise ValueError("only a per_period rotation has a period")
        return value

    @field_validator("order")
    @classmethod
    def _order_unique(cls, value: list[UUID]) -> list[UUID]:
        return _unique(value)


class _AllianceEvent(Event):
    TOPIC: ClassVar[str] = topics.AGREEMENTS
    KEY_FIELD: ClassVar[str] = "alliance_id"

    alliance_id: UUID


class AllianceFormed(_AllianceEvent):
    """A street's or a community's alliance with its first member units and rotation."""

    EVENT_TYPE: ClassVar[str] = "alliance.formed"

    host_party_id: UUID  # the street or community whose alliance it is
    host_kind: PartyKind
    formed_on: BusinessDate
    member_unit_ids: UnitIds
    rotation: Rotation
    formed_at: UtcDatetime

    @field_validator("host_kind")
    @classmethod
    def _street_or_community(cls, value: PartyKind) -> PartyKind:
        if value not in (PartyKind.STREET, PartyKind.COMMUNITY):
            raise ValueError("an alliance is a street's or a community's")
        return value

    @field_validator("member_unit_ids")
    @classmethod
    def _members_unique(cls, value: list[UUID]) -> list[UUID]:
        return _unique(value)


class AllianceMemberJoined(_AllianceEvent):
    """A unit joined; a new unit takes its turn last (``alliance.rotation_changed`` follows)."""

    EVENT_TYPE: ClassVar[str] = "alliance.member_joined"

    unit_id: UUID
    joined_on: BusinessDate
    recorded_at: UtcDatetime


class AllianceMemberLeft(_AllianceEvent):
    """A unit left: its turns to chair are skipped from ``left_on`` on."""

    EVENT_TYPE: ClassVar[str] = "alliance.member_left"

    unit_id: UUID
    left_on: BusinessDate
    recorded_at: UtcDatetime


class AllianceRotationChanged(_AllianceEvent):
    """A new rotation (version + 1) in force from ``rotation.effective_from``: a changed
    order, or a joining unit put at the end of it."""

    EVENT_TYPE: ClassVar[str] = "alliance.rotation_changed"

    version: Version
    rotation: Rotation
    changed_at: UtcDatetime


class MeetingHeld(_AllianceEvent):
    """A joint meeting recorded: who chaired, which member units attended, the decisions
    taken (each follows as ``decision.made``) and the chair of the next turn."""

    EVENT_TYPE: ClassVar[str] = "meeting.held"

    meeting_id: UUID
    number: Version  # the alliance's n-th meeting
    held_on: BusinessDate
    chair_unit_id: UUID
    present_unit_ids: UnitIds
    decision_ids: Annotated[list[UUID], Field(max_length=200)]
    next_chair_unit_id: UUID | None = None  # none when no member is left to chair
    recorded_at: UtcDatetime

    @field_validator("present_unit_ids")
    @classmethod
    def _present_unique(cls, value: list[UUID]) -> list[UUID]:
        return _unique(value)


class DecisionMade(_AllianceEvent):
    """A meeting's decision (研究确定事项) and the commitment it became: one item of an
    agreement of origin ``meeting`` between the responsible unit and the beneficiary
    community, whose ``agreement.signed`` follows."""

    EVENT_TYPE: ClassVar[str] = "decision.made"

    meeting_id: UUID
    decision_id: UUID
    responsible_unit_id: UUID
    beneficiary_community_id: UUID
    deadline: BusinessDate
    funds_fen: Fen = 0
    agreement_id: UUID
    commitment_id: UUID
    made_on: BusinessDate  # the meeting's date
    made_at: UtcDatetime

    @field_validator("made_on")
    @classmethod
    def _made_before_deadline(cls, value: date, info: ValidationInfo) -> date:
        deadline = info.data.get("deadline")
        if isinstance(deadline, date) and deadline < value:
            raise ValueError(f"must not be after deadline ({deadline.isoformat()})")
        return value


__all__ = [
    "AllianceFormed",
    "AllianceMemberJoined",
    "AllianceMemberLeft",
    "AllianceRotationChanged",
    "DecisionMade",
    "MeetingHeld",
    "Rotation",
]
