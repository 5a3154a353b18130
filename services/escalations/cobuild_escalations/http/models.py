"""Request and response bodies of the escalations API."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from uuid import UUID

from cobuild_contracts.base import CategoryCode, Year
from cobuild_contracts.enums import PartyKind
from cobuild_contracts.events.escalations import Level, ReceiverKind, Urgency
from cobuild_kit.working_time import DayKind
from pydantic import BaseModel, ConfigDict, Field

from cobuild_escalations.domain.whistle import State, Whistle

SpanText = str  # "4h" (working hours) or "3d" (working days)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RaiseIn(_In):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    category: CategoryCode
    urgency: Urgency = Urgency.NORMAL
    place_id: UUID = Field(
        description="where the matter is: the worker's community or a grid/compound in it; "
        "for a street admin, the street or a place in it"
    )


class RespondIn(_In):
    who_comes: str = Field(
        min_length=1,
        max_length=200,
        description="the post or team that will come (not a person's name: personal data "
        "stays in its homes)",
    )
    note: str = Field(default="", max_length=2000)


class HandOnIn(_In):
    to_party_id: UUID = Field(description="the department (a government office unit)")
    reason: str = Field(min_length=1, max_length=500)


class ResolveIn(_In):
    note: str = Field(default="", max_length=4000)
    evidence_ids: list[UUID] = Field(
        min_length=1, max_length=50, description="files the receiver uploaded to this whistle"
    )


class ReopenIn(_In):
    reason: str = Field(min_length=1, max_length=500)


class PlaceOut(BaseModel):
    place_id: UUID
    place_kind: PartyKind
    community_id: UUID | None
    street_id: UUID
    district_id: UUID


class WhistleOut(BaseModel):
    whistle_id: UUID
    title: str
    description: str
    category: str
    urgency: Urgency
    place: PlaceOut
    raiser_party_id: UUID
    raiser_level: Level
    raised_by: str
    raised_at: datetime
    state: State
    receiver_party_id: UUID
    receiver_kind: ReceiverKind
    routing_district_id: UUID
    routing_version: int = Field(description="the routing table's version it was routed by")
    respond_by: datetime
    respond_by_provisional: bool = Field(
        description="counted over days beyond the working calendar's known years (Monday to "
        "Friday): the official calendar may move it"
    )
    resolve_by: datetime
    resolve_by_provisional: bool
    next_due: datetime | None = Field(description="the limit the receiver works against now")
    level: Level = Field(description="the level supervising it: raised by each missed limit")
    response_missed: bool
    response_missed_at: datetime | None
    resolution_missed: bool
    resolution_missed_at: datetime | None
    responded_at: datetime | None
    who_comes: str | None
    response_note: str
    responded_in_time: bool | None
    resolved_at: datetime | None
    resolution_note: str
    resolution_evidence: list[UUID]
    resolved_in_time: bool | None
    closed_at: datetime | None

    @classmethod
    def of(cls, w: Whistle) -> WhistleOut:
        data: dict[str, Any] = {k: getattr(w, k) for k in cls.model_fields if hasattr(w, k)}
        data.update(
            place=PlaceOut(**w.place.__dict__),
            resolution_evidence=list(w.resolution_evidence),
            response_missed=w.response_missed_at is not None,
            resolution_missed=w.resolution_missed_at is not None,
            responded_in_time=None if w.responded_at is None else w.responded_in_time(),
            resolved_in_time=None if w.resolved_at is None else w.resolved_in_time(),
            next_due=w.next_due,
        )
        return cls(**data)


class HistoryDetail(BaseModel):
    """What stays in this service about a step (never in its event)."""

    reason: str | None = Field(default=None, description="a hand-on's or reopening's reason")
    who_comes: str | None = Field(default=None, description="named in the response (报到)")
    note: str | None = Field(default=None, description="the response's or resolution's note")


class HistoryEntry(BaseModel):
    seq: int
    event_id: UUID
    event_type: str
    occurred_at: datetime
    # The event's payload as published; its schema is docs/contracts/<event_type>.schema.json.
    payload: dict[str, Any]
    detail: HistoryDetail


class EvidenceOut(BaseModel):
    evidence_id: UUID
    whistle_id: UUID
    party_id: UUID
    sha256: str
    content_type: str
    size_bytes: int
    filename: str
    uploaded_by: str
    uploaded_at: datetime


class CodesIn(_In):
    count: int = Field(default=1, ge=1, le=200, description="how many one-time codes")


class CodesOut(BaseModel):
    whistle_id: UUID
    codes: list[str]
    expires_at: datetime


class RatingIn(_In):
    code: str = Field(min_length=8, max_length=64)
    rating: int = Field(ge=1, le=5, description="1 (very dissatisfied) to 5 (very satisfied)")
    comment: str = Field(default="", max_length=500)


class RatedOut(BaseModel):
    rating_id: UUID
    whistle_id: UUID


class RatingsOut(BaseModel):
    whistle_id: UUID
    codes_issued: int
    codes_used: int
    rated: int = Field(description="ratings counted (a redemption by the issuer is not)")
    satisfied: int


# --- routing -----------------------------------------------------------------------------


class RuleIO(_In):
    department_id: UUID = Field(description="a unit of type government office")
    category: CategoryCode | None = Field(default=None, description="any category if unset")
    raiser_level: Level | None = Field(default=None, description="community or street")
    street_id: UUID | None = Field(default=None, description="a street of the district")


class LimitIO(_In):
    category: CategoryCode | None = None
    urgency: Urgency
    respond: SpanText = Field(
        pattern=r"^[1-9][0-9]{0,2}[hd]$", description="working hours ('4h') or days ('1d')"
    )
    resolve: SpanText = Field(pattern=r"^[1-9][0-9]{0,2}[hd]$")


class RoutingIn(_In):
    rules: list[RuleIO] = Field(default_factory=list, max_length=500)
    limits: list[LimitIO] = Field(default_factory=list, max_length=500)
    note: str = Field(default="", max_length=500, description="why this version")


class RoutingOut(BaseModel):
    district_id: UUID
    version: int = Field(description="0: the built-in table (the level above, default limits)")
    rules: list[RuleIO]
    limits: list[LimitIO]
    default_limits: list[LimitIO] = Field(description="what applies where no limit matches")
    note: str


class RoutingVersion(BaseModel):
    version: int
    note: str
    published_by: str
    published_at: datetime


# --- the working calendar ------------------------------------------------------------------


class DayIO(_In):
    day: date
    kind: DayKind
    name: str = Field(default="", max_length=100)


class YearIn(_In):
    days: list[DayIO] = Field(
        max_length=366,
        description="the year's public holidays and its adjusted working days (weekend days "
        "worked); every other day is Monday to Friday",
    )
    source: str = Field(
        min_length=1, max_length=300, description="the notice it comes from (its number)"
    )


class YearVersion(BaseModel):
    year: Year
    version: int
    source: str
    published_by: str
    published_at: datetime


class YearOut(BaseModel):
    year: Year
    known: bool = Field(description="false: counted Monday to Friday, results provisional")
    source: str | None
    days: list[DayIO]
    versions: list[YearVersion] = Field(description="an admin's publications, oldest first")


class CalendarOut(BaseModel):
    known_years: list[int]
    known_through: date | None
    package: str = Field(description="the holiday package the calendar is seeded from")
    published: list[YearVersion] = Field(description="each year's newest publication")
    working_day_opens: time
    working_day_closes: time
