"""A whistle (吹哨) and its life.

routed → responded (报到) → resolved → closed; a reopening sends a resolved whistle back to
responded, a hand-on sends a routed one to another department (still routed). `raised` is the
moment of raising; routing happens in the same transaction, so no whistle rests unrouted.

Each limit (respond, resolve) that passes unmet flags the whistle once and raises its level
one step (ARCHITECTURE.md, "Whistles"): community → street → district, skipping the level of
the receiver itself (a street that missed its own limit is escalated to its district), and
staying at the district. Like a commitment's overdue flag, it is a flag, not a state: a late
whistle can still be answered and resolved, late.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from cobuild_contracts.enums import PartyKind
from cobuild_contracts.events.escalations import Level, ReceiverKind, TimeLimit, Urgency

from cobuild_escalations.domain.rules import IllegalTransition, RuleViolation


class State(StrEnum):
    ROUTED = "routed"  # awaiting its receiver's response
    RESPONDED = "responded"  # accepted; someone named is coming
    RESOLVED = "resolved"  # reported resolved; awaiting the raiser's confirmation
    CLOSED = "closed"


OPEN = frozenset({State.ROUTED, State.RESPONDED, State.RESOLVED})
_UP = {Level.COMMUNITY: Level.STREET, Level.STREET: Level.DISTRICT, Level.DISTRICT: Level.DISTRICT}


@dataclass(frozen=True)
class Place:
    """Where the matter is, with the hierarchy above it."""

    place_id: UUID
    place_kind: PartyKind
    community_id: UUID | None
    street_id: UUID
    district_id: UUID

    def party_at(self, level: Level) -> UUID | None:
        return {
            Level.COMMUNITY: self.community_id,
            Level.STREET: self.street_id,
            Level.DISTRICT: self.district_id,
        }[level]


@dataclass(frozen=True)
class Escalation:
    """What one missed limit did: the flag, and the level it raised the whistle to."""

    limit: TimeLimit
    due_at: datetime
    from_level: Level
    to_level: Level
    to_party_id: UUID


@dataclass(frozen=True)
class Whistle:
    whistle_id: UUID
    title: str
    description: str
    category: str
    urgency: Urgency
    place: Place
    raiser_party_id: UUID
    raiser_level: Level
    raised_by: str
    raised_at: datetime
    receiver_party_id: UUID
    receiver_kind: ReceiverKind
    routing_district_id: UUID
    routing_version: int
    respond_by: datetime
    respond_by_provisional: bool
    resolve_by: datetime
    resolve_by_provisional: bool
    level: Level  # the level supervising it now: the raiser's, raised by each missed limit
    state: State = State.ROUTED
    responded_at: datetime | None = None
    responded_by: str | None = None
    who_comes: str | None = None
    response_note: str = ""
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution_note: str = ""
    resolution_evidence: tuple[UUID, ...] = ()
    closed_at: datetime | None = None
    closed_by: str | None = None
    response_missed_at: datetime | None = None
    resolution_missed_at: datetime | None = None

    def _check(self, action: str, *allowed: State) -> None:
        if self.state not in allowed:
            raise IllegalTransition(action, self.state.value)

    # --- transitions ------------------------------------------------------------------

    def respond(self, by: str, at: datetime, who_comes: str, note: str) -> Whistle:
        """报到: the receiver accepts the matter and names who comes (a post or a team)."""
        self._check("respond", State.ROUTED)
        return replace(
            self,
            state=State.RESPONDED,
            responded_at=at,
            responded_by=by,
            who_comes=who_comes,
            response_note=note,
        )

    def hand_on(self, to_party_id: UUID) -> Whistle:
        """To another department, before anyone responded; the limits do not restart (a
        matter passed around must not gain time)."""
        self._check("hand it on", State.ROUTED)
        if to_party_id == self.receiver_party_id:
            raise RuleViolation("the whistle is with that department already", "body.to_party_id")
        return replace(self, receiver_party_id=to_party_id, receiver_kind=ReceiverKind.DEPARTMENT)

    def resolve(self, by: str, at: datetime, note: str, evidence: tuple[UUID, ...]) -> Whistle:
        self._check("report it resolved", State.RESPONDED)
        if not evidence:
            raise RuleViolation("a resolution needs its evidence", "body.evidence_ids")
        if len(set(evidence)) != len(evidence):
            raise RuleViolation("an evidence file is named twice", "body.evidence_ids")
        return replace(
            self,
            state=State.RESOLVED,
            resolved_at=at,
            resolved_by=by,
            resolution_note=note,
            resolution_evidence=evidence,
        )

    def reopen(self) -> Whistle:
        """The raiser does not accept the resolution: back to the receiver, the resolution no
        longer counts."""
        self._check("reopen it", State.RESOLVED)
        return replace(
            self,
            state=State.RESPONDED,
            resolved_at=None,
            resolved_by=None,
            resolution_note="",
            resolution_evidence=(),
        )

    def close(self, by: str, at: datetime) -> Whistle:
        self._check("confirm it", State.RESOLVED)
        return replace(self, state=State.CLOSED, closed_at=at, closed_by=by)

    # --- limits and escalation --------------------------------------------------------

    def responded_in_time(self) -> bool:
        return self.responded_at is not None and self.responded_at <= self.respond_by

    def resolved_in_time(self) -> bool:
        return self.resolved_at is not None and self.resolved_at <= self.resolve_by

    def response_missed(self, now: datetime) -> bool:
        """Its limit to respond passed with no response, and it is not flagged yet."""
        return (
            self.response_missed_at is None and self.state is State.ROUTED and now > self.respond_by
        )

    def resolution_missed(self, now: datetime) -> bool:
        """Its limit to resolve passed with the matter open, or it was resolved late and
        awaits confirmation; not flagged yet. A closed whistle is never flagged."""
        if self.resolution_missed_at is not None or now <= self.resolve_by:
            return False
        if self.state in (State.ROUTED, State.RESPONDED):
            return True
        return self.state is State.RESOLVED and not self.resolved_in_time()

    def next_level(self) -> Level:
        """One step up, past the receiver's own level."""
        level = _UP[self.level]
        if level is not Level.DISTRICT and self.place.party_at(level) == self.receiver_party_id:
            level = _UP[level]
        return level

    def escalate(self, limit: TimeLimit, at: datetime) -> tuple[Whistle, Escalation]:
        """Flag the missed `limit` and raise the level; the caller checked it was missed."""
        to = self.next_level()
        party = self.place.party_at(to)
        assert party is not None  # streets and districts are always known
        due = self.respond_by if limit is TimeLimit.RESPOND else self.resolve_by
        flagged = (
            replace(self, response_missed_at=at, level=to)
            if limit is TimeLimit.RESPOND
            else replace(self, resolution_missed_at=at, level=to)
        )
        return flagged, Escalation(limit, due, self.level, to, party)

    @property
    def next_due(self) -> datetime | None:
        """The limit the receiver works against now (the queue's order), None when done."""
        if self.state is State.ROUTED:
            return self.respond_by
        if self.state is State.RESPONDED:
            return self.resolve_by
        return None
