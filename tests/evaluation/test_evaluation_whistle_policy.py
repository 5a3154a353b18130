"""A unit's whistle rates (吹哨报到) in its score: policy data, off by default."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

from cobuild_evaluation.domain.assessment import UnitInput, score_unit
from cobuild_evaluation.domain.policy import parse
from cobuild_evaluation.domain.whistle_rates import Standing, tally
from cobuild_evaluation.store import policies


def _doc(unit: dict[str, object]) -> dict[str, object]:
    return {
        "version": "test-whistles",
        "member": {
            "components": {
                "points": {"weight": "1", "mapping": {"kind": "linear_to_target", "target": "60"}}
            }
        },
        "unit": {"components": unit},
        "grades": {"excellent": "90", "good": "75", "pass": "60"},
    }


UNIT = UnitInput(
    "u1",
    fulfilment_rate=Decimal("1"),
    on_time_rate=None,
    resident_mean=None,
    expert_mean=None,
    whistle_response_rate=Decimal("0.5"),
    whistle_completion_rate=Decimal("0.25"),
    whistle_satisfaction_rate=None,  # no rating yet: its weight goes to the rest
)


def test_off_by_default_the_rates_change_nothing() -> None:
    for version in policies.available():
        p = policies.load(version)
        assert not p.weighs_whistles
        scored = score_unit(UNIT, None, p)
        assert not any(k.startswith("whistle_") for k in scored.components)
        bare = UnitInput("u1", Decimal("1"), None, None, None)
        assert score_unit(bare, None, p) == scored


def test_a_policy_may_weight_them() -> None:
    p = parse(
        _doc(
            {
                "fulfilment_rate": {"weight": "0.5"},
                "whistle_response_rate": {"weight": "0.2"},
                "whistle_completion_rate": {"weight": "0.2"},
                "whistle_satisfaction_rate": {"weight": "0.1"},
            }
        )
    )
    assert p.weighs_whistles
    scored = score_unit(UNIT, None, p)
    # (0.5 * 100 + 0.2 * 50 + 0.2 * 25) / 0.9: satisfaction has no data.
    assert scored.score == Decimal("72.22")
    assert scored.components["whistle_response_rate"] == Decimal("50.00")
    assert "whistle_satisfaction_rate" not in scored.components


def test_rates_are_null_on_a_zero_denominator() -> None:
    assert tally([]).as_dict()["response_rate"] is None
    s = Standing(
        whistle_id=uuid4(), community_id=None,
        street_id=uuid4(), district_id=uuid4(),
        receiver_id=None, response_due=True, responded_within_limit=False, resolution_due=False,
        resolved_within_limit=False, rated=3, satisfied=2,
    )  # fmt: skip
    figures = tally([s, s]).as_dict()
    assert figures["response_rate"] == "0.0000" and figures["completion_rate"] is None
    assert figures["satisfaction_rate"] == "0.6667"
