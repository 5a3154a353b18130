"""The rates of whistles (吹哨报到), counted from the escalations service's events.

As of a business date D (Asia/Shanghai, "at the end of day D"), over the whistles raised by D:
- response rate = responded within the limit ÷ response due (limit to respond on or before D);
- completion rate = resolved within the limit ÷ resolution due (limit to resolve by D), where
  the resolution that counts is the last one reported by D and not reopened by D;
- satisfaction rate = satisfied ratings ÷ ratings, of the ratings given by D.
A zero denominator gives null; rates are 4-place decimal strings (ARCHITECTURE.md, "Money,
points and rates"). A whistle belongs to its place's community, street and district, and to
the department (or level) that held it as of D, the receiver after the last hand-on by D.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from cobuild_evaluation.domain.ledger import format_rate, rate

COUNTS = (
    "raised",
    "response_due",
    "responded_within_limit",
    "resolution_due",
    "resolved_within_limit",
    "rated",
    "satisfied",
)


@dataclass(frozen=True)
class Standing:
    """One whistle as of a date."""

    whistle_id: UUID
    community_id: UUID | None
    street_id: UUID
    district_id: UUID
    receiver_id: UUID | None
    response_due: bool
    responded_within_limit: bool
    resolution_due: bool
    resolved_within_limit: bool
    rated: int
    satisfied: int


@dataclass(frozen=True)
class WhistleFigures:
    raised: int = 0
    response_due: int = 0
    responded_within_limit: int = 0
    resolution_due: int = 0
    resolved_within_limit: int = 0
    rated: int = 0
    satisfied: int = 0

    def plus(self, s: Standing) -> WhistleFigures:
        return WhistleFigures(
            self.raised + 1,
            self.response_due + s.response_due,
            self.responded_within_limit + s.responded_within_limit,
            self.resolution_due + s.resolution_due,
            self.resolved_within_limit + s.resolved_within_limit,
            self.rated + s.rated,
            self.satisfied + s.satisfied,
        )

    @property
    def response_rate(self) -> Decimal | None:
        return rate(self.responded_within_limit, self.response_due)

    @property
    def completion_rate(self) -> Decimal | None:
        return rate(self.resolved_within_limit, self.resolution_due)

    @property
    def satisfaction_rate(self) -> Decimal | None:
        return rate(self.satisfied, self.rated)

    def as_dict(self) -> dict[str, Any]:
        return {
            **{k: getattr(self, k) for k in COUNTS},
            "response_rate": format_rate(self.response_rate),
            "completion_rate": format_rate(self.completion_rate),
            "satisfaction_rate": format_rate(self.satisfaction_rate),
        }


def tally(standings: Iterable[Standing]) -> WhistleFigures:
    out = WhistleFigures()
    for s in standings:
        out = out.plus(s)
    return out


def grouped(
    standings: Iterable[Standing], key: Callable[[Standing], UUID | None]
) -> dict[UUID, WhistleFigures]:
    """Figures per key (whistles whose key is None are left out)."""
    out: dict[UUID, WhistleFigures] = {}
    for s in standings:
        k = key(s)
        if k is not None:
            out[k] = out.get(k, WhistleFigures()).plus(s)
    return out
