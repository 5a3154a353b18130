"""Events of the points service, on ``points.events.v1``.

Member names and phone numbers live only in the points service: these events carry
opaque member ids. Keyed by ``member_id``, except activities and wishes, which are keyed
by their own id.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import Field, ValidationInfo, field_validator

from .. import topics
from ..base import (
    BusinessDate,
    CategoryCode,
    Code,
    Count,
    Event,
    Hours,
    Points,
    Reason,
    Title,
    UtcDatetime,
    Year,
)
from .access import Subject


class _PointsEvent(Event):
    TOPIC: ClassVar[str] = topics.POINTS
    KEY_FIELD: ClassVar[str] = "member_id"


# An amount of points granted or taken back: always positive; the event says which.
PositivePoints = Annotated[Points, Field(gt=0)]


# --- members ---------------------------------------------------------------------------


class MemberRegistered(_PointsEvent):
    """A unit's member was registered (singly, in bulk or by an import): the access service
    issues an invitation that links the person's account to this member id. Ids only: the
    name and phone stay in the points service."""

    EVENT_TYPE: ClassVar[str] = "member.registered"

    member_id: UUID
    unit_id: UUID
    registered_at: UtcDatetime


class MemberReported(_PointsEvent):
    """An in-service member reported (报到) to the community where they live."""

    EVENT_TYPE: ClassVar[str] = "member.reported"

    member_id: UUID
    unit_id: UUID
    community_id: UUID
    grid_id: UUID | None = None
    reported_at: UtcDatetime
    # The identity-provider subject of the person who asked to report, when they asked
    # signed in as themself (a `person` token): the access service grants them the member
    # role for `member_id`. An opaque id, never a name or phone. Added in v1, optional.
    subject: Subject | None = None


class MemberReportDeclined(_PointsEvent):
    """A community's admin declined a member's request to report (报到) there, singly or in
    bulk, with the reason given (phone and id numbers masked). Added in v1 (issue 37): the
    member hears that and why. `subject` as on member.reported: the person who asked signed
    in as themself, who may hold no member grant yet."""

    EVENT_TYPE: ClassVar[str] = "member.report_declined"

    member_id: UUID
    unit_id: UUID
    community_id: UUID  # the community that declined
    reason: Reason
    declined_at: UtcDatetime
    subject: Subject | None = None


class MemberTransferred(_PointsEvent):
    EVENT_TYPE: ClassVar[str] = "member.transferred"

    member_id: UUID
    unit_id: UUID
    from_community_id: UUID
    to_community_id: UUID
    transferred_at: UtcDatetime

    @field_validator("to_community_id")
    @classmethod
    def _moves(cls, value: UUID, info: ValidationInfo) -> UUID:
        if value == info.data.get("from_community_id"):
            raise ValueError("must differ from from_community_id")
        return value


class MemberLeft(_PointsEvent):
    EVENT_TYPE: ClassVar[str] = "member.left"

    member_id: UUID
    reason: Reason
    left_at: UtcDatetime


# --- activities ------------------------------------------------------------------------


class ActivityPublished(_PointsEvent):
    """A community's volunteer activity; attendance earns points under ``rule_code``."""

    EVENT_TYPE: ClassVar[str] = "activity.published"
    KEY_FIELD: ClassVar[str] = "activity_id"

    activity_id: UUID
    community_id: UUID
    title: Title
    category: CategoryCode
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    capacity: Annotated[Count, Field(ge=1)]
    rule_code: Code
    published_at: UtcDatetime

    @field_validator("ends_at")
    @classmethod
    def _ends_after_start(cls, value: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("starts_at")
        if isinstance(start, datetime) and value <= start:
            raise ValueError("must be after starts_at")
        return value


class ActivitySignedUp(_PointsEvent):
    """A member's sign-up, confirmed at once: the place is held (capacity is checked under
    the activity's lock). `by_community` (added in v1, issue 37): the community's admin
    signed the member up on their behalf (代录), not the member."""

    EVENT_TYPE: ClassVar[str] = "activity.signed_up"
    KEY_FIELD: ClassVar[str] = "activity_id"

    activity_id: UUID
    member_id: UUID
    signed_up_at: UtcDatetime
    by_community: bool = False


class ActivitySignUpCancelled(_PointsEvent):
    """A sign-up withdrawn before checking in (keyed by activity, as the sign-up): by the
    member, or by the community's admin (`by_community`, added in v1, issue 37), so the
    member hears that the community cancelled it."""

    EVENT_TYPE: ClassVar[str] = "activity.sign_up_cancelled"
    KEY_FIELD: ClassVar[str] = "activity_id"

    activity_id: UUID
    member_id: UUID
    cancelled_at: UtcDatetime
    by_community: bool = False


class AttendanceConfirmed(_PointsEvent):
    """The community confirmed a member's attendance and hours (keyed by member)."""

    EVENT_TYPE: ClassVar[str] = "attendance.confirmed"

    activity_id: UUID
    member_id: UUID
    hours: Hours
    confirmed_at: UtcDatetime


# --- micro-wishes (微心愿) -------------------------------------------------------------


class WishPublished(_PointsEvent):
    EVENT_TYPE: ClassVar[str] = "wish.published"
    KEY_FIELD: ClassVar[str] = "wish_id"

    wish_id: UUID
    community_id: UUID
    title: Title
    published_at: UtcDatetime


class WishClaimed(_PointsEvent):
    EVENT_TYPE: ClassVar[str] = "wish.claimed"
    KEY_FIELD: ClassVar[str] = "wish_id"

    wish_id: UUID
    member_id: UUID
    claimed_at: UtcDatetime


class WishFulfilled(_PointsEvent):
    EVENT_TYPE: ClassVar[str] = "wish.fulfilled"
    KEY_FIELD: ClassVar[str] = "wish_id"

    wish_id: UUID
    member_id: UUID
    fulfilled_at: UtcDatetime


# --- the points ledger -----------------------------------------------------------------


class PointsAwarded(_PointsEvent):
    """A ledger entry granting points. ``cause_event_id`` is unique per grant; community
    and unit are the member's at the time of the award (ARCHITECTURE.md, "Append-only ledgers")."""

    EVENT_TYPE: ClassVar[str] = "points.awarded"

    entry_id: UUID
    member_id: UUID
    year: Year  # the Asia/Shanghai year of business_date
    points: PositivePoints
    reason: Reason
    cause_event_id: UUID
    rule_code: Code
    rule_set_version: Code
    community_id: UUID
    unit_id: UUID
    business_date: BusinessDate
    capped: bool  # true when a cap cut the grant below the rule's amount
    awarded_at: UtcDatetime

    @field_validator("business_date")
    @classmethod
    def _in_year(cls, value: date, info: ValidationInfo) -> date:
        return _same_year(value, info)


class PointsReversed(_PointsEvent):
    """A reversing entry: a correction never edits an entry (append-only ledger)."""

    EVENT_TYPE: ClassVar[str] = "points.reversed"

    entry_id: UUID
    reverses_entry_id: UUID
    member_id: UUID
    year: Year  # the year whose total the reversed entry counted in
    points: PositivePoints  # the amount taken back
    reason: Reason
    cause_event_id: UUID
    community_id: UUID
    unit_id: UUID
    # Not tied to ``year``: a correction in January may take back last year's points.
    business_date: BusinessDate
    reversed_at: UtcDatetime


def _same_year(value: date, info: ValidationInfo) -> date:
    year = info.data.get("year")
    if isinstance(year, int) and value.year != year:
        raise ValueError(f"must fall in year {year}")
    return value


__all__ = [
    "ActivityPublished",
    "ActivitySignUpCancelled",
    "ActivitySignedUp",
    "AttendanceConfirmed",
    "MemberLeft",
    "MemberRegistered",
    "MemberReportDeclined",
    "MemberReported",
    "MemberTransferred",
    "PointsAwarded",
    "PointsReversed",
    "PositivePoints",
    "WishClaimed",
    "WishFulfilled",
    "WishPublished",
]
