"""The contract event of each step of a whistle's life (ids only, ARCHITECTURE.md, "Personal
data"): what the use cases emit, built from the domain's objects."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from cobuild_contracts.events.escalations import (
    WhistleClosed,
    WhistleEscalated,
    WhistleHandedOn,
    WhistleRaised,
    WhistleRated,
    WhistleReopened,
    WhistleResolved,
    WhistleResponded,
    WhistleRouted,
)

from cobuild_escalations.domain.whistle import Escalation, Whistle


def raised(w: Whistle) -> WhistleRaised:
    return WhistleRaised(
        whistle_id=w.whistle_id,
        raiser_party_id=w.raiser_party_id,
        raiser_level=w.raiser_level,
        raised_by=w.raised_by,
        place_id=w.place.place_id,
        place_kind=w.place.place_kind,
        community_id=w.place.community_id,
        street_id=w.place.street_id,
        district_id=w.place.district_id,
        category=w.category,
        urgency=w.urgency,
        raised_at=w.raised_at,
    )


def routed(w: Whistle) -> WhistleRouted:
    return WhistleRouted(
        whistle_id=w.whistle_id,
        receiver_party_id=w.receiver_party_id,
        receiver_kind=w.receiver_kind,
        routing_district_id=w.routing_district_id,
        routing_version=w.routing_version,
        respond_by=w.respond_by,
        respond_by_provisional=w.respond_by_provisional,
        resolve_by=w.resolve_by,
        resolve_by_provisional=w.resolve_by_provisional,
        routed_at=w.raised_at,
    )


def handed_on(before: Whistle, after: Whistle, by: str, at: datetime) -> WhistleHandedOn:
    return WhistleHandedOn(
        whistle_id=after.whistle_id,
        from_party_id=before.receiver_party_id,
        to_party_id=after.receiver_party_id,
        handed_on_by=by,
        handed_on_at=at,
    )


def responded(w: Whistle) -> WhistleResponded:
    assert w.responded_at is not None and w.responded_by is not None
    return WhistleResponded(
        whistle_id=w.whistle_id,
        receiver_party_id=w.receiver_party_id,
        responded_by=w.responded_by,
        responded_at=w.responded_at,
        respond_by=w.respond_by,
        within_limit=w.responded_in_time(),
    )


def escalated(w: Whistle, e: Escalation, at: datetime) -> WhistleEscalated:
    return WhistleEscalated(
        whistle_id=w.whistle_id,
        limit=e.limit,
        due_at=e.due_at,
        detected_at=at,
        from_level=e.from_level,
        to_level=e.to_level,
        to_party_id=e.to_party_id,
        receiver_party_id=w.receiver_party_id,
    )


def resolved(w: Whistle) -> WhistleResolved:
    assert w.resolved_at is not None and w.resolved_by is not None
    return WhistleResolved(
        whistle_id=w.whistle_id,
        receiver_party_id=w.receiver_party_id,
        resolved_by=w.resolved_by,
        resolved_at=w.resolved_at,
        resolve_by=w.resolve_by,
        within_limit=w.resolved_in_time(),
        evidence_ids=list(w.resolution_evidence),
    )


def reopened(w: Whistle, by: str, at: datetime) -> WhistleReopened:
    return WhistleReopened(
        whistle_id=w.whistle_id, receiver_party_id=w.receiver_party_id, reopened_by=by,
        reopened_at=at,
    )  # fmt: skip


def closed(w: Whistle) -> WhistleClosed:
    assert w.closed_at is not None and w.closed_by is not None and w.resolved_at is not None
    return WhistleClosed(
        whistle_id=w.whistle_id,
        receiver_party_id=w.receiver_party_id,
        closed_by=w.closed_by,
        closed_at=w.closed_at,
        resolved_at=w.resolved_at,
        within_limit=w.resolved_in_time(),
    )


def rated(
    whistle_id: UUID, rating_id: UUID, rating: int, satisfied: bool, at: datetime
) -> WhistleRated:
    return WhistleRated(
        whistle_id=whistle_id, rating_id=rating_id, rating=rating, satisfied=satisfied,
        rated_at=at,
    )  # fmt: skip
