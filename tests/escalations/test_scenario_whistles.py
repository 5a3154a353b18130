"""The scenario's whistles: seeded, in order, within the year, and none at the tiny scale."""

from __future__ import annotations

import pytest
from cobuild_scenario.plan import make_plan
from cobuild_scenario.whistles import PER_SCALE, plan_whistles


@pytest.mark.parametrize("scale", ["small", "district"])
def test_each_whistle_steps_in_order_within_the_year(scale: str) -> None:
    plan = make_plan(7, scale)
    year = plan_whistles(plan)
    per_community, per_street = PER_SCALE[scale]
    assert len(year.whistles) == (
        per_community * len(plan.communities) + per_street * len(plan.streets)
    )
    offices = {u.code for u in plan.units if u.unit_type == "government_office"}
    assert set(year.routing().values()) <= offices
    last = len(plan.ticks) - 1
    for w in year.whistles:
        steps = [w.raise_at, w.respond_at, *w.resolve_at, w.close_at, w.rate_at]
        done = [s for s in steps if s is not None]
        assert done == sorted(done) and done[-1] <= last, w
        assert not w.resolve_at or w.respond_at is not None
        assert w.hand_on_to is None or w.hand_on_to in offices
    # Every kind of step happens somewhere in the year.
    assert any(w.respond_at is None for w in year.whistles) or scale == "small"
    assert any(len(w.resolve_at) == 2 for w in year.whistles)
    assert any(w.ratings for w in year.whistles)


def test_the_same_seed_gives_the_same_whistles_and_tiny_has_none() -> None:
    assert plan_whistles(make_plan(3, "small")) == plan_whistles(make_plan(3, "small"))
    assert plan_whistles(make_plan(3, "small")) != plan_whistles(make_plan(4, "small"))
    assert plan_whistles(make_plan(3, "tiny")).whistles == []
