"""The assessment pages' pure rules: the quota typed in percent, the year a page is about,
the distribution's bands and the ranks shown as ties."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from cobuild_console.domain.assessment import (
    QuotaError,
    assessed_year,
    distribution,
    percent,
    quota_share,
    tied_ranks,
)


def test_a_quota_is_typed_in_percent() -> None:
    assert quota_share("20") == Decimal("0.2")
    assert quota_share(" 12.5 % ") == Decimal("0.125")
    assert quota_share("") is None
    for bad in ("0", "-5", "150", "twenty", "NaN", "Infinity"):
        with pytest.raises(QuotaError):
            quota_share(bad)


def test_the_year_assessed_runs_into_january() -> None:
    assert assessed_year(date(2026, 12, 7)) == 2026
    assert assessed_year(date(2027, 1, 8)) == 2026
    assert assessed_year(date(2027, 6, 1)) == 2026


def test_the_distribution_counts_each_score_once_by_band() -> None:
    bands = distribution([Decimal(s) for s in ("100", "90", "89.99", "60", "59.99", "0")])
    assert [(b.label, b.count) for b in bands] == [
        ("90–100", 2),
        ("75–89.99", 1),
        ("60–74.99", 1),
        ("0–59.99", 2),
    ]
    assert sum(b.share for b in bands) == Decimal(1)
    assert [b.count for b in distribution([])] == [0, 0, 0, 0]


def test_shared_ranks_are_ties_and_rates_read_as_percent() -> None:
    rows = [{"subject_id": s, "ranks": {"district": r}} for s, r in (("a", 1), ("b", 1), ("c", 3))]
    assert tied_ranks(rows) == {1}
    assert percent("0.1250") == "12.5%" and percent("0.0000") == "0%" and percent(None) == "—"
