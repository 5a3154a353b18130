"""Events of the escalations service (吹哨报到), on ``escalations.events.v1``.

A whistle is a matter a community (for itself or a grid/compound in it) or a street raises
because it cannot solve it alone. It is routed to the level above or to a department, which
reports (报到: accepts it and names who comes) and resolves it within limits counted in
working time; a missed limit escalates it one level up. Every event is keyed by
``whistle_id``, so one whistle's history stays in order.

Ids only (ARCHITECTURE.md, "Personal data"): the title, description, photos, reasons and who
comes stay in the escalations service; the events carry the parties to tell (the raiser,
the receiver, the level a matter was escalated to) for the notifications service, and the
limits and times the evaluation service's response, completion and satisfaction rates need.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from .. import topics
from ..base import CategoryCode, Event, UtcDatetime
from ..enums import PartyKind


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


class Level(StrEnum):
    """The levels a whistle is raised at and escalated through (三级吹哨)."""

    COMMUNITY = "community"
    STREET = "street"
    DISTRICT = "district"


class ReceiverKind(StrEnum):
    """Who answers a whistle: a department (a unit of type government office) or the level
    above the raiser (a street's or a district's admins)."""

    DEPARTMENT = "department"
    STREET = "street"
    DISTRICT = "district"


class TimeLimit(StrEnum):
    RESPOND = "respond"  # 报到: accept the matter and name who comes
    RESOLVE = "resolve"


Subject = str  # an actor's token subject (an opaque id), as `task.claimed` carries it
_SUBJECT = Field(min_length=1, max_length=200)


class _EscalationsEvent(Event):
    TOPIC: ClassVar[str] = topics.ESCALATIONS
    KEY_FIELD: ClassVar[str] = "whistle_id"


class WhistleRaised(_EscalationsEvent):
    """A community worker (for her community or a grid/compound in it) or a street admin
    raised a matter. ``place_id`` is where it is; the hierarchy above it is named whole."""

    EVENT_TYPE: ClassVar[str] = "whistle.raised"

    whistle_id: UUID
    raiser_party_id: UUID  # the community or street that whistled
    raiser_level: Level
    raised_by: Subject = _SUBJECT
    place_id: UUID
    place_kind: PartyKind
    community_id: UUID | None = None  # none for a street's own matter
    street_id: UUID
    district_id: UUID
    category: CategoryCode
    urgency: Urgency
    raised_at: UtcDatetime


class WhistleRouted(_EscalationsEvent):
    """Routed by the district's routing table (its version; 0 is the built-in default, the
    level above), with its limits counted in working time from ``raised_at``. A limit past
    the working calendar's known years is counted Monday to Friday and is provisional."""

    EVENT_TYPE: ClassVar[str] = "whistle.routed"

    whistle_id: UUID
    receiver_party_id: UUID
    receiver_kind: ReceiverKind
    routing_district_id: UUID
    routing_version: int = Field(ge=0, le=10**6)
    respond_by: UtcDatetime
    respond_by_provisional: bool = False
    resolve_by: UtcDatetime
    resolve_by_provisional: bool = False
    routed_at: UtcDatetime


class WhistleHandedOn(_EscalationsEvent):
    """The receiver (or the level supervising it) handed the matter on to another
    department, with a reason kept in the whistle's history. The limits do not restart."""

    EVENT_TYPE: ClassVar[str] = "whistle.handed_on"

    whistle_id: UUID
    from_party_id: UUID
    to_party_id: UUID
    handed_on_by: Subject = _SUBJECT
    handed_on_at: UtcDatetime


class WhistleResponded(_EscalationsEvent):
    """报到: the receiver accepted the matter and named who comes."""

    EVENT_TYPE: ClassVar[str] = "whistle.responded"

    whistle_id: UUID
    receiver_party_id: UUID
    responded_by: Subject = _SUBJECT
    responded_at: UtcDatetime
    respond_by: UtcDatetime
    within_limit: bool  # responded_at <= respond_by


class WhistleEscalated(_EscalationsEvent):
    """A limit was missed: flagged once per limit, and raised one level (community → street
    → district; at the district it stays there, flagged). ``to_party_id`` is the level's
    party that now supervises the matter; the receiver stays the one who must act."""

    EVENT_TYPE: ClassVar[str] = "whistle.escalated"

    whistle_id: UUID
    limit: TimeLimit
    due_at: UtcDatetime
    detected_at: UtcDatetime
    from_level: Level
    to_level: Level
    to_party_id: UUID
    receiver_party_id: UUID


class WhistleResolved(_EscalationsEvent):
    """The receiver reported the matter resolved, with evidence files (their ids)."""

    EVENT_TYPE: ClassVar[str] = "whistle.resolved"

    whistle_id: UUID
    receiver_party_id: UUID
    resolved_by: Subject = _SUBJECT
    resolved_at: UtcDatetime
    resolve_by: UtcDatetime
    within_limit: bool  # resolved_at <= resolve_by
    evidence_ids: list[UUID] = Field(min_length=1, max_length=50)


class WhistleReopened(_EscalationsEvent):
    """The raiser did not accept the resolution: the receiver must resolve it again, and
    the earlier resolution no longer counts."""

    EVENT_TYPE: ClassVar[str] = "whistle.reopened"

    whistle_id: UUID
    receiver_party_id: UUID
    reopened_by: Subject = _SUBJECT
    reopened_at: UtcDatetime


class WhistleClosed(_EscalationsEvent):
    """The raiser confirmed the resolution: the matter is closed."""

    EVENT_TYPE: ClassVar[str] = "whistle.closed"

    whistle_id: UUID
    receiver_party_id: UUID
    closed_by: Subject = _SUBJECT
    closed_at: UtcDatetime
    resolved_at: UtcDatetime
    within_limit: bool  # of the resolution confirmed


class WhistleRated(_EscalationsEvent):
    """A resident who follows the matter rated it once, with a one-time code."""

    EVENT_TYPE: ClassVar[str] = "whistle.rated"

    whistle_id: UUID
    rating_id: UUID
    rating: int = Field(ge=1, le=5)
    satisfied: bool  # the rating is at or above the service's satisfaction mark
    rated_at: UtcDatetime
