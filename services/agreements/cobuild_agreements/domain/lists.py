"""Rules a need or a resource must keep beyond its shape: the taxonomy and the calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cobuild_kit.errors import Invalid

CATEGORY = r"^[a-z][a-z0-9_]{1,39}$"  # the shape of a category code, in lists and drafts alike


@dataclass(frozen=True)
class ListRules:
    categories: frozenset[str]
    today: date

    def category(self, code: str, field: str) -> None:
        if code not in self.categories:
            raise Invalid(
                f"unknown category {code!r}; known: {', '.join(sorted(self.categories))}",
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


__all__ = ["CATEGORY", "ListRules"]
