"""The matcher: which resources suit a need (and which needs a resource), ranked, with reasons.

A candidate must share the need's category and kind and serve the need's community; it then
scores on capacity, closeness (paired > same street > same district > elsewhere) and whether
its availability window reaches the wanted-by date. Scores run 0..100.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from uuid import UUID

BASE = 40  # same category and kind
COVERS, COVERS_PART = 25, 5
PAIRED, SAME_STREET, SAME_DISTRICT = 25, 15, 5
WINDOW = 10


@dataclass(frozen=True)
class NeedView:
    need_id: UUID
    community_id: UUID
    category: str
    kind: str
    quantity: int
    funds_fen: int
    wanted_by: date
    paired_only: bool = False  # visibility "paired_units"


@dataclass(frozen=True)
class ResourceView:
    resource_id: UUID
    unit_id: UUID
    category: str
    kind: str
    capacity: int
    funds_fen: int
    available_from: date
    available_until: date
    community_ids: frozenset[UUID] = frozenset()  # served; empty means any


@dataclass(frozen=True)
class Place:
    """Where a community sits."""

    community_id: UUID
    street_id: UUID | None
    district_id: UUID | None


@dataclass(frozen=True)
class UnitReach:
    """Where a unit sits and whom it is paired with (with the streets of those communities)."""

    unit_id: UUID
    district_id: UUID | None
    paired_community_ids: frozenset[UUID]
    paired_street_ids: frozenset[UUID]


@dataclass(frozen=True)
class Suggestion:
    need_id: UUID
    resource_id: UUID
    community_id: UUID
    unit_id: UUID
    score: int
    reasons: tuple[str, ...]


def assess(
    need: NeedView, resource: ResourceView, place: Place, reach: UnitReach, today: date
) -> Suggestion | None:
    """The score of one pair, or None when the resource cannot serve the need at all."""
    if (need.category, need.kind) != (resource.category, resource.kind):
        return None
    if resource.community_ids and need.community_id not in resource.community_ids:
        return None
    paired = need.community_id in reach.paired_community_ids
    if need.paired_only and not paired:
        return None
    score, reasons = BASE, [f"same category ({need.category}) and kind ({need.kind})"]
    covers = resource.capacity >= need.quantity and resource.funds_fen >= need.funds_fen
    if covers:
        score += COVERS
        reasons.append(f"capacity {resource.capacity} covers quantity {need.quantity}")
    elif resource.capacity > 0:
        score += COVERS_PART
        reasons.append(f"capacity {resource.capacity} covers part of quantity {need.quantity}")
    if paired:
        score += PAIRED
        reasons.append("the unit is paired with the community")
    elif place.street_id is not None and place.street_id in reach.paired_street_ids:
        score += SAME_STREET
        reasons.append("the unit is paired in the same street")
    elif place.district_id is not None and place.district_id == reach.district_id:
        score += SAME_DISTRICT
        reasons.append("the unit is in the same district")
    if resource.available_from <= need.wanted_by and resource.available_until >= today:
        score += WINDOW
        reasons.append(
            f"available {resource.available_from}..{resource.available_until} "
            f"reaches wanted-by {need.wanted_by}"
        )
    return Suggestion(
        need.need_id,
        resource.resource_id,
        need.community_id,
        resource.unit_id,
        score,
        tuple(reasons),
    )


def _ranked(found: Iterable[Suggestion | None], top: int) -> list[Suggestion]:
    hits = [s for s in found if s is not None]
    hits.sort(key=lambda s: (-s.score, str(s.need_id), str(s.resource_id)))
    return hits[:top]


def resources_for(
    need: NeedView,
    place: Place,
    candidates: Iterable[tuple[ResourceView, UnitReach]],
    today: date,
    top: int,
) -> list[Suggestion]:
    return _ranked((assess(need, r, place, reach, today) for r, reach in candidates), top)


def needs_for(
    resource: ResourceView,
    reach: UnitReach,
    candidates: Iterable[tuple[NeedView, Place]],
    today: date,
    top: int,
) -> list[Suggestion]:
    return _ranked((assess(n, resource, place, reach, today) for n, place in candidates), top)


__all__ = [
    "NeedView",
    "Place",
    "ResourceView",
    "Suggestion",
    "UnitReach",
    "assess",
    "needs_for",
    "resources_for",
]
