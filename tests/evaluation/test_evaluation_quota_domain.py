"""The 优秀 quota and its tie rule (pure), and the 公示 period's rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from cobuild_contracts.enums import Grade
from cobuild_evaluation.domain.assessment import MemberInput, assess
from cobuild_evaluation.domain.policy import PolicyError, parse
from cobuild_evaluation.domain.publication import CorrectionError, corrections, why_not_final
from cobuild_evaluation.domain.quota import cutoff, places
from cobuild_evaluation.store.policies import load

D = Decimal
FLOOR = D(90)


def test_places_round_down() -> None:
    assert places(D("0.20"), 7) == 1
    assert places(D("0.20"), 10) == 2
    assert places(D("0.20"), 4) == 0


def test_without_a_quota_or_within_it_the_band_decides() -> None:
    assert cutoff([(D(95), 1), (D(80), 9)], 10, None, FLOOR) == FLOOR
    assert cutoff([(D(95), 2), (D(80), 8)], 10, D("0.20"), FLOOR) == FLOOR


def test_a_tie_at_the_boundary_is_excellent_together_only_if_all_of_it_fits() -> None:
    # 10 subjects, 2 places: 99 fits, the two at 95 would make 3: neither of them.
    assert cutoff([(D(99), 1), (D(95), 2), (D(91), 1)], 10, D("0.20"), FLOOR) == D(99)
    # Three tied at the top, 2 places: no one.
    assert cutoff([(D(99), 3), (D(50), 7)], 10, D("0.20"), FLOOR) is None
    # Exactly fitting: both tied at the boundary keep it.
    assert cutoff([(D(99), 1), (D(95), 1), (D(91), 2)], 20, D("0.20"), FLOOR) == FLOOR


def _members(scores: list[str]) -> list[MemberInput]:
    return [
        MemberInput(f"m{i:02d}", "c", "s", "u", D(points), None) for i, points in enumerate(scores)
    ]


def test_assess_caps_excellent_never_splits_equal_scores_and_demotes_to_good() -> None:
    policy = replace(load("2026-v1"), excellent_quota=D("0.20"))
    # Points 60 score 100, 57 score 95, 54 score 90: one 100, two 95, one 90, six low.
    members = _members(["60", "57", "57", "54", "10", "10", "10", "10", "10", "10"])
    out = assess(2026, policy, members, [])
    grades = {m.subject_id: m.grade for m in out.members}
    assert grades["m00"] == Grade.EXCELLENT
    assert grades["m01"] == grades["m02"] == Grade.GOOD  # the tie would exceed 2 of 10
    assert grades["m03"] == Grade.GOOD
    assert out.totals()["member_excellent_rate"] == "0.1000"
    assert out.totals()["excellent_quota"] == "0.2000"
    # Ranks are by score: the tie shares its rank, quota or not.
    ranks = {m.subject_id: m.ranks["district"] for m in out.members}
    assert ranks["m01"] == ranks["m02"] == 2
    uncapped = assess(2026, load("2026-v1"), members, [])
    assert "excellent_quota" not in uncapped.totals()
    assert sum(m.grade == Grade.EXCELLENT for m in uncapped.members) == 4


def test_policy_data_names_the_quota_and_the_objection_period() -> None:
    doc = {
        "version": "x",
        "member": {
            "components": {
                "points": {"weight": "1", "mapping": {"kind": "linear_to_target", "target": 60}}
            }
        },
        "unit": {"components": {"fulfilment_rate": {"weight": "1"}}},
        "grades": {"excellent": "90", "good": "75", "pass": "60", "excellent_quota": "0.2"},
        "publication": {"objection_working_days": 3},
    }
    p = parse(doc)
    assert p.excellent_quota == D("0.2") and p.objection_working_days == 3
    with pytest.raises(PolicyError, match="excellent_quota"):
        parse({**doc, "grades": {**doc["grades"], "excellent_quota": "1.5"}})
    with pytest.raises(PolicyError, match="objection_working_days"):
        parse({**doc, "publication": {"objection_working_days": 0}})
    assert load("2026-v1").excellent_quota is None
    assert load("2026-v1").objection_working_days == 5


def test_corrections_are_known_inputs_within_range() -> None:
    assert corrections("member", {"points": "58.5"}) == {"points": D("58.5")}
    with pytest.raises(CorrectionError) as empty:
        corrections("member", {})
    assert empty.value.field == "body.corrections"
    with pytest.raises(CorrectionError) as unknown:
        corrections("member", {"fulfilment_rate": "1"})
    assert unknown.value.field == "body.corrections.fulfilment_rate"
    with pytest.raises(CorrectionError):
        corrections("unit", {"resident_mean": "6"})


def test_final_only_after_the_period_with_nothing_open() -> None:
    end = datetime(2027, 1, 11, 10, tzinfo=UTC)
    assert why_not_final("publicised", end, end, 0) is not None  # the last instant still counts
    assert why_not_final("publicised", end + timedelta(seconds=1), end, 1) is not None
    assert why_not_final("final", end + timedelta(days=1), end, 0) is not None
    assert why_not_final("publicised", end + timedelta(seconds=1), end, 0) is None
