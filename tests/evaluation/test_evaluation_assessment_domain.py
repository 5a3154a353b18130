"""Assessment arithmetic: policy loading, weights, redistribution, grades and ranks."""

from __future__ import annotations

from decimal import Decimal

import pytest
from cobuild_contracts.enums import Grade
from cobuild_evaluation.domain.assessment import MemberInput, UnitInput, assess, points_score
from cobuild_evaluation.store import policies
from cobuild_kit.sheets import safe_cell


def test_policy_loads_and_grades() -> None:
    p = policies.load("2026-v1")
    assert p.version == "2026-v1" and sum(p.member_weights.values()) == 1
    assert p.grade(Decimal("90.00")) == Grade.EXCELLENT
    assert p.grade(Decimal("89.99")) == Grade.GOOD
    assert p.grade(Decimal("60")) == Grade.PASS
    assert p.grade(Decimal("59.99")) == Grade.FAIL
    with pytest.raises(policies.PolicyError):
        policies.load("1999-nope")


def test_points_mapping_is_capped() -> None:
    assert points_score(Decimal("30"), Decimal("60")) == Decimal("50.00")
    assert points_score(Decimal("600"), Decimal("60")) == Decimal("100.00")


def test_members_units_and_ranks() -> None:
    p = policies.load("2026-v1")
    members = [
        # 60 points → 100; rating 80 → 0.7*100 + 0.3*80 = 94
        MemberInput("m1", "c1", "s1", "u1", Decimal("60"), Decimal("80")),
        # no rating: points alone (weight redistributed): 30/60 → 50
        MemberInput("m2", "c1", "s1", "u1", Decimal("30"), None),
        MemberInput("m3", "c2", "s1", "u2", Decimal("60"), Decimal("80")),
    ]
    units = [UnitInput("u1", Decimal("1"), Decimal("0.5"), Decimal("4.5"), None)]
    out = assess(2026, p, members, units)
    by = {m.subject_id: m for m in out.members}
    assert by["m1"].score == Decimal("94.00") and by["m1"].grade == Grade.EXCELLENT
    assert by["m2"].score == Decimal("50.00") and by["m2"].grade == Grade.FAIL
    assert by["m1"].ranks == {"community": 1, "street": 1, "district": 1}
    assert by["m3"].ranks["district"] == 1  # a tie shares the rank
    assert by["m2"].ranks["district"] == 3
    u = out.units[0]
    # 0.35*100 + 0.15*50 + 0.20*90 + 0.15*50 (pass share 1 of 2), expert weight redistributed
    assert u.components["member_pass_share"] == Decimal("50.00")
    assert u.score == Decimal("80.00")  # 68 / 0.85
    assert out.totals()["member_excellent_rate"] == "0.6667"
    again = assess(2026, p, list(reversed(members)), units)
    assert again.canonical() == out.canonical()


def test_formula_injection_is_neutralised() -> None:
    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_cell("@x") == "'@x" and safe_cell("-1+2") == "'-1+2"
    assert safe_cell(-5) == -5 and safe_cell("ok") == "ok"
