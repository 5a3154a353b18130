"""Micro-wishes (微心愿): open → claimed → done → fulfilled; stale when open too long."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from cobuild_kit.errors import Conflict


class WishStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"  # a member took it on
    DONE = "done"  # the member says it is fulfilled; the community has to confirm
    FULFILLED = "fulfilled"


_FROM: dict[str, WishStatus] = {
    "claim": WishStatus.OPEN,
    "complete": WishStatus.CLAIMED,
    "confirm": WishStatus.DONE,
}


def require(action: str, status: WishStatus | str) -> None:
    if WishStatus(status) is not _FROM[action]:
        raise Conflict(f"cannot {action}: the wish is {WishStatus(status).value}")


def is_stale(status: WishStatus | str, published_at: datetime, now: datetime, days: int) -> bool:
    """Unclaimed for more than `days` days."""
    return WishStatus(status) is WishStatus.OPEN and now - published_at > timedelta(days=days)


def stale_before(now: datetime, days: int) -> datetime:
    """Open wishes published before this instant are stale (`is_stale`, as a bound to query)."""
    return now - timedelta(days=days)
