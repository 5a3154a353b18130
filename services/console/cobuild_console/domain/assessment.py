"""The year-end assessment as the workbench shows it (pure): the quota typed in percent, the
distribution of a preview, ranks shown with their ties, and which year a page is about."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

GRADES = ("excellent", "good", "pass", "fail")
# The score bands of the distribution, highest first: the default grade bands' floors.
BANDS = ((Decimal(90), "90–100"), (Decimal(75), "75–89.99"), (Decimal(60), "60–74.99"),
         (Decimal(0), "0–59.99"))  # fmt: skip
POLICIES = ("2026-v1", "2026-v2")
ROWS = 200  # members listed on the preview page (the highest ranked; the rest are counted)


class QuotaError(ValueError):
    pass


def quota_share(text: str) -> Decimal | None:
    """A quota typed in percent ("20" or "20%") as a share (0.2); empty is no quota."""
    cleaned = text.strip().removesuffix("%").strip()
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise QuotaError("not a number") from None
    if not value.is_finite() or not Decimal(0) < value <= Decimal(100):
        raise QuotaError("out of range")
    return (value / 100).normalize()


def assessed_year(today: date) -> int:
    """The year a page is about: this year in December (the year-end runs then), otherwise
    the year before (its 公示 and finalisation run into January)."""
    return today.year if today.month == 12 else today.year - 1


@dataclass(frozen=True)
class Band:
    label: str
    count: int
    share: Decimal  # of all, 0..1, for the bar's width


def distribution(scores: list[Decimal]) -> list[Band]:
    counts = [0] * len(BANDS)
    for s in scores:
        for i, (floor, _) in enumerate(BANDS):
            if s >= floor:
                counts[i] += 1
                break
    total = len(scores) or 1
    return [
        Band(label, n, (Decimal(n) / total).quantize(Decimal("0.0001")))
        for (_, label), n in zip(BANDS, counts, strict=True)
    ]


def tied_ranks(rows: list[dict[str, Any]], key: str = "district") -> set[int]:
    """The ranks shared by more than one subject (shown as "=3")."""
    seen: dict[int, int] = {}
    for r in rows:
        rank = r["ranks"].get(key)
        if rank is not None:
            seen[rank] = seen.get(rank, 0) + 1
    return {rank for rank, n in seen.items() if n > 1}


def by_rank(rows: list[dict[str, Any]], key: str = "district") -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (r["ranks"].get(key, 0), r["subject_id"]))


def percent(rate: str | None) -> str:
    """A rate "0.1250" as "12.5%"."""
    if rate is None:
        return "—"
    value = (Decimal(rate) * 100).quantize(Decimal("0.1"))
    return f"{value.normalize():f}%"
