"""Evaluation rules: resident codes, expert scores and per-subject aggregates."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

SCORE_QUANTUM = Decimal("0.01")
CODE_BYTES = 12  # 96 bits of randomness (more than the 64 asked for)


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def code_hash(code: str) -> str:
    """Only the hash is stored: a leaked table does not leak usable codes."""
    return hashlib.sha256(code.strip().encode()).hexdigest()


def expert_score(marks: dict[str, int]) -> Decimal:
    """The mean of the criteria marks (each 0..100), to 2 places."""
    total = sum(Decimal(v) for v in marks.values())
    return (total / Decimal(len(marks))).quantize(SCORE_QUANTUM, ROUND_HALF_UP)


def bucket(rating: int | None, score: Decimal | None) -> str:
    """Distribution buckets: a resident's 1..5 rating, or a score's band of ten."""
    if rating is not None:
        return str(rating)
    assert score is not None
    low = min(int(score) // 10 * 10, 90)
    return f"{low:02d}-{low + 9 if low < 90 else 100}"


@dataclass(frozen=True)
class Aggregate:
    count: int
    mean: Decimal | None
    distribution: dict[str, int]

    def as_dict(self) -> dict[str, object]:
        return {
            "count": self.count,
            "mean": None if self.mean is None else format(self.mean, "f"),
            "distribution": dict(sorted(self.distribution.items())),
        }


def aggregate(buckets: list[tuple[str, int, Decimal]]) -> Aggregate:
    """(bucket, count, sum of values) rows folded into count, mean and distribution."""
    count = sum(n for _, n, _ in buckets)
    total = sum((t for _, _, t in buckets), Decimal(0))
    mean = (total / count).quantize(SCORE_QUANTUM, ROUND_HALF_UP) if count else None
    return Aggregate(count, mean, {b: n for b, n, _ in buckets})
