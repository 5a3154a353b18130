"""The 优秀 quota (pure): at most a share of the subjects may be graded excellent.

The tie rule (ARCHITECTURE.md, "The 优秀 quota"): subjects with equal scores are never split.
A subject keeps 优秀 only if every subject scoring at least as much fits within the quota, so
a tie at the boundary is excellent together when all of it fits, and otherwise none of it is
(it drops to the next band, 良好). The cap is never exceeded, and no one is told that a
colleague with the very same score was chosen over them by an arbitrary order.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_FLOOR, Decimal


def places(share: Decimal, total: int) -> int:
    """How many may be excellent: the share of `total`, rounded down (20% of 7 is 1)."""
    return int((share * total).to_integral_value(ROUND_FLOOR))


def cutoff(
    scores: Iterable[tuple[Decimal, int]], total: int, share: Decimal | None, floor: Decimal
) -> Decimal | None:
    """The lowest score that stays 优秀 under the quota, given (score, how many have it) over
    all `total` subjects and the excellent band's `floor`. None when no one keeps it; the
    floor itself when the quota takes no one away."""
    eligible = sorted(((s, n) for s, n in scores if s >= floor), reverse=True)
    if share is None:
        return floor
    room = places(share, total)
    kept: Decimal | None = None
    counted = 0
    for score, n in eligible:
        if counted + n > room:
            return kept  # this tie would not fit: it and all below it drop to 良好
        counted += n
        kept = score
    return floor


def keeps_excellent(score: Decimal, floor: Decimal, line: Decimal | None) -> bool:
    return line is not None and score >= floor and score >= line
