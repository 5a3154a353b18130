"""The needs list as the page shows it: filtered by state, category and kind, sorted, a page
at a time. The service filters by state only and orders by wanted-by date; a community's
needs are few (hundreds a year), so the console reads them all and does the rest here, and
every choice stays in the URL (a worker can bookmark or send a filtered list)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PAGE = 50
# sort key → (field, descending)
SORTS: Mapping[str, tuple[str, bool]] = {
    "wanted_by": ("wanted_by", False),
    "-wanted_by": ("wanted_by", True),
    "-published_at": ("published_at", True),
    "-funds": ("funds_fen", True),
    "title": ("title", False),
}
DEFAULT_SORT = "wanted_by"


@dataclass(frozen=True)
class NeedsQuery:
    status: str = ""
    category: str = ""
    kind: str = ""
    sort: str = DEFAULT_SORT
    offset: int = 0

    @classmethod
    def of(
        cls,
        *,
        status: str | None,
        category: str | None,
        kind: str | None,
        sort: str | None,
        offset: int,
        statuses: Sequence[str],
        categories: Sequence[str],
        kinds: Sequence[str],
    ) -> NeedsQuery:
        """Only known values are kept: an edited URL falls back to the default, never to an
        error page."""
        return cls(
            status=status if status and status in statuses else "",
            category=category if category and category in categories else "",
            kind=kind if kind and kind in kinds else "",
            sort=sort if sort and sort in SORTS else DEFAULT_SORT,
            offset=max(offset, 0),
        )

    def params(self, **changed: Any) -> dict[str, str]:
        """The query string's values (empty ones left out), with some changed."""
        values = {
            "status": self.status,
            "category": self.category,
            "kind": self.kind,
            "sort": "" if self.sort == DEFAULT_SORT else self.sort,
            "offset": str(self.offset) if self.offset else "",
        }
        values.update({k: str(v) for k, v in changed.items()})
        return {k: v for k, v in values.items() if v and v != "0"}


@dataclass(frozen=True)
class NeedsPage:
    items: list[Mapping[str, Any]]
    total: int
    offset: int
    next_offset: int | None
    previous_offset: int | None


def select(needs: Sequence[Mapping[str, Any]], query: NeedsQuery) -> NeedsPage:
    kept = [
        n
        for n in needs
        if (not query.status or n["status"] == query.status)
        and (not query.category or n["category"] == query.category)
        and (not query.kind or n["kind"] == query.kind)
    ]
    field, descending = SORTS[query.sort]
    # Ties keep a stable order by title, so the same URL shows the same page.
    kept.sort(key=lambda n: str(n["title"]))
    kept.sort(key=lambda n: n[field], reverse=descending)
    start = min(query.offset, max(len(kept) - 1, 0))
    end = start + PAGE
    return NeedsPage(
        items=kept[start:end],
        total=len(kept),
        offset=start,
        next_offset=end if end < len(kept) else None,
        previous_offset=max(start - PAGE, 0) if start else None,
    )
