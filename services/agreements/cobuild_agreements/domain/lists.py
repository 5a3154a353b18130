"""Rules a need or a resource must keep beyond its shape (the taxonomy and the calendar), and
when a unit may claim a need directly."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from cobuild_contracts import Visibility
from cobuild_contracts.base import CATEGORY_PATTERN
from cobuild_contracts.reference import valid_codes
from cobuild_kit.errors import Conflict, Forbidden, Invalid

CATEGORY = CATEGORY_PATTERN  # the shape of a category code, in lists and drafts alike


@dataclass(frozen=True)
class ListRules:
    categories: frozenset[str]
    today: date

    def category(self, code: str, field: str) -> None:
        if code not in self.categories:
            raise Invalid(
                f"unknown category {code!r}; {valid_codes(self.categories)}",
                field=field,
            )

    def need(self, category: str, wanted_by: date, prefix: str = "body.") -> None:
        self.category(category, f"{prefix}category")
        if wanted_by < self.today:
            raise Invalid(
                f"wanted_by {wanted_by} is before today ({self.today})", field=f"{prefix}wanted_by"
            )

    def resource(
        self, category: str, available_from: date, available_until: date, prefix: str = "body."
    ) -> None:
        self.category(category, f"{prefix}category")
        if available_until < available_from:
            raise Invalid(
                "available_until is before available_from", field=f"{prefix}available_until"
            )
        if available_until < self.today:
            raise Invalid(
                f"available_until {available_until} is before today ({self.today})",
                field=f"{prefix}available_until",
            )


def check_claimable(
    need_id: UUID, status: str, visibility: str, community_id: UUID, paired: Collection[UUID]
) -> None:
    """Only a published need is claimed, and only by a unit that may see it."""
    if status != "published":
        raise Conflict(f"need {need_id} is {status}; only a published need is claimed")
    if visibility == Visibility.PRIVATE.value:
        raise Forbidden(f"need {need_id} is private to its community; it cannot be claimed")
    if visibility == Visibility.PAIRED_UNITS.value and community_id not in paired:
        raise Forbidden(f"need {need_id} is open to the community's paired units only")


def claim_deadline(asked: date | None, wanted_by: date, today: date) -> date:
    """The claimed commitment's deadline: the one asked for, else the need's wanted-by date."""
    deadline = asked or wanted_by
    if deadline < today:
        raise Invalid(f"deadline {deadline} is before today ({today})", field="body.deadline")
    return deadline


__all__ = ["CATEGORY", "ListRules", "check_claimable", "claim_deadline"]
