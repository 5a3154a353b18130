"""The event-type registry: ``event_type`` string -> payload model."""

from __future__ import annotations

from typing import Final

from .base import Event
from .errors import UnknownEventType
from .events import access as x
from .events import agreements as a
from .events import alliances as al
from .events import commitments as c
from .events import escalations as w
from .events import evaluation as e
from .events import points as p

# Listed by hand, in catalogue order: adding an event is a deliberate act, and the
# contract tests check that no Event subclass is left out and that each has a sample.
_ALL: Final[tuple[type[Event], ...]] = (
    a.PartyRegistered,
    a.PartyUpdated,
    a.NeedPublished,
    a.NeedWithdrawn,
    a.ResourceOffered,
    a.ResourceWithdrawn,
    a.MatchSuggested,
    a.ProposalMade,
    a.ProposalCountered,
    a.AgreementSigned,
    a.AgreementAmended,
    a.AgreementTerminated,
    a.NeedClaimed,
    al.AllianceFormed,
    al.AllianceMemberJoined,
    al.AllianceMemberLeft,
    al.AllianceRotationChanged,
    al.MeetingHeld,
    al.DecisionMade,
    c.CommitmentOpened,
    c.TaskClaimed,
    c.TaskAssigned,
    c.CommitmentProgressed,
    c.EvidenceSubmitted,
    c.CommitmentMarkedDone,
    c.CommitmentFulfilled,
    c.CommitmentConfirmationRefused,
    c.CommitmentOverdue,
    c.CommitmentCancelled,
    c.CommitmentReminderDue,
    p.MemberRegistered,
    p.MemberReported,
    p.MemberReportDeclined,
    p.MemberTransferred,
    p.MemberLeft,
    p.ActivityPublished,
    p.ActivitySignedUp,
    p.ActivitySignUpCancelled,
    p.AttendanceConfirmed,
    p.WishPublished,
    p.WishClaimed,
    p.WishFulfilled,
    p.PointsAwarded,
    p.PointsReversed,
    e.EvaluationSubmitted,
    e.AssessmentCompleted,
    e.MemberScored,
    e.UnitScored,
    e.ExpertRegistered,
    e.ExpertAssigned,
    e.ObjectionFiled,
    e.ObjectionUpheld,
    e.ObjectionRejected,
    e.AssessmentFinalised,
    x.GrantAdded,
    x.GrantRevoked,
    w.WhistleRaised,
    w.WhistleRouted,
    w.WhistleHandedOn,
    w.WhistleResponded,
    w.WhistleEscalated,
    w.WhistleResolved,
    w.WhistleReopened,
    w.WhistleClosed,
    w.WhistleRated,
)


def _build() -> dict[str, type[Event]]:
    registry: dict[str, type[Event]] = {}
    for cls in _ALL:
        if cls.EVENT_TYPE in registry:
            raise RuntimeError(f"duplicate event type {cls.EVENT_TYPE!r}")
        if cls.KEY_FIELD not in cls.model_fields:
            raise RuntimeError(f"{cls.__name__}.KEY_FIELD {cls.KEY_FIELD!r} is not a field")
        registry[cls.EVENT_TYPE] = cls
    return registry


EVENT_TYPES: Final[dict[str, type[Event]]] = _build()


def event_class(event_type: str) -> type[Event]:
    """The payload model of ``event_type``; raises ``UnknownEventType``."""
    try:
        return EVENT_TYPES[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def events_on(topic: str) -> dict[str, type[Event]]:
    """The event types published on ``topic`` (a consumer's dispatch table)."""
    return {name: cls for name, cls in EVENT_TYPES.items() if topic == cls.TOPIC}


__all__ = ["EVENT_TYPES", "event_class", "events_on"]
