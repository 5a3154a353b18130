"""The year's whistles (吹哨报到) as a plan: pure and seeded, like `plan.make_plan`, and drawn
from a generator of their own after it, so the rest of the year is the same with or without
them.

Like the rest of the year, whistles move in ticks: each step names the tick it happens at, so
they add no clock moves to the run (a stop of their own mid-week doubled the moves, each a
wait for quiescence). Whether a step is within its limit is not planned: the escalations
service counts the limits in working time on the official calendar (a whistle raised at a
Saturday tick is counted from Monday, or from that Saturday when it is an adjusted working
day), and the report reads the rates the evaluation service counted. A step at the tick of
the raising is within a one-day limit; one at a later tick, a week or more on, is not.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from cobuild_scenario.plan import Plan

# Whistles a community raises in the year, and a street; none at the tiny scale (the fault
# suite's reruns), whose figures stay as they were.
PER_SCALE = {"district": (5, 2), "small": (6, 3), "tiny": (0, 0)}

# Whistle categories; the first four go to a department by the district's routing table, the
# rest to the level above (a community's to its street, a street's to its district).
CATEGORIES = (
    "municipal_facilities",  # 市政设施
    "environment",  # 环境卫生
    "housing_repair",  # 房屋修缮
    "public_safety",  # 治安消防
    "elderly_care",  # 为老服务
    "neighbour_disputes",  # 邻里纠纷
)
ROUTED_TO_DEPARTMENTS = 4
TITLES = {
    "municipal_facilities": ("路灯损坏", "井盖缺失", "人行道破损"),
    "environment": ("垃圾清运不及时", "绿地被占", "污水外溢"),
    "housing_repair": ("楼顶漏水", "外墙脱落", "电梯故障"),
    "public_safety": ("消防通道堵塞", "电动车楼道充电", "监控损坏"),
    "elderly_care": ("独居老人无人照料", "助餐点停供"),
    "neighbour_disputes": ("噪音扰民", "违建纠纷"),
}
LIMITS = (
    {"urgency": "normal", "respond": "1d", "resolve": "5d"},
    {"urgency": "urgent", "respond": "4h", "resolve": "2d"},
)


@dataclass
class PlannedWhistle:
    """One whistle and the tick of each of its steps (None: it never happens)."""

    key: str
    raiser: str  # a community or street code
    raiser_kind: str  # "community" or "street"
    place: str  # the party code it stands at
    category: str
    urgency: str
    title: str
    raise_at: int  # a tick
    hand_on_to: str | None = None  # a department's unit code, at the raising tick
    respond_at: int | None = None
    resolve_at: tuple[int, ...] = ()  # the last one is accepted; earlier ones are reopened
    close_at: int | None = None
    ratings: tuple[int, ...] = ()  # residents' 1..5, the tick after the closing

    @property
    def rate_at(self) -> int | None:
        return None if self.close_at is None or not self.ratings else self.close_at + 1

    def steps_at(self, tick: int) -> bool:
        return tick in (self.raise_at, self.respond_at, self.close_at, self.rate_at) or (
            tick in self.resolve_at
        )


@dataclass
class WhistleYear:
    departments: tuple[str, ...]  # unit codes of the routing table's departments, in order
    whistles: list[PlannedWhistle] = field(default_factory=list)

    def routing(self) -> dict[str, str]:
        """category → department unit code, as the district's routing table says."""
        return dict(zip(CATEGORIES[:ROUTED_TO_DEPARTMENTS], self.departments, strict=False))


def plan_whistles(plan: Plan) -> WhistleYear:
    """The year's whistles for `plan`, from a generator seeded by the plan's seed alone."""
    rng = random.Random(plan.seed * 7919 + 38)
    offices = [u.code for u in plan.units if u.unit_type == "government_office"]
    year = WhistleYear(tuple(offices[:ROUTED_TO_DEPARTMENTS]))
    per_community, per_street = PER_SCALE.get(plan.scale_name, (0, 0))
    last = len(plan.ticks) - 1
    raisers = [("community", c.code) for c in plan.communities for _ in range(per_community)]
    raisers += [("street", s.code) for s in plan.streets for _ in range(per_street)]
    for n, (kind, code) in enumerate(raisers):
        # Raised at a tick that leaves room for the later steps before the year ends.
        raise_at = rng.randrange(0, max(1, last - 5))
        category = rng.choice(CATEGORIES)
        place = code
        if kind == "street" and rng.random() < 0.5:
            place = rng.choice([c.code for c in plan.communities if c.street == code])
        w = PlannedWhistle(
            key=f"WH{n + 1:03d}",
            raiser=code,
            raiser_kind=kind,
            place=place,
            category=category,
            urgency="urgent" if rng.random() < 0.2 else "normal",
            title=f"{rng.choice(TITLES[category])}·{code}-{n + 1}",
            raise_at=raise_at,
        )
        department = year.routing().get(category)
        others = [d for d in offices if d != department]
        if department is not None and others and rng.random() < 0.12:
            w.hand_on_to = rng.choice(others)
        _schedule(w, rng, last)
        year.whistles.append(w)
    return year


def _schedule(w: PlannedWhistle, rng: random.Random, last: int) -> None:
    """Most receivers respond at once (at the tick it was raised at), some at the next tick
    (late), a few never; most resolve in the same week, some later (late); some resolutions
    are reopened once; most are confirmed, and many of those rated."""
    roll = rng.random()
    if roll < 0.06:
        return  # nobody responds: escalated, never resolved
    w.respond_at = min(w.raise_at + (0 if roll < 0.8 else 1 if roll < 0.94 else 2), last)
    if rng.random() < 0.06:
        return  # responded, never resolved
    first = min(w.respond_at + rng.choice((0, 0, 0, 0, 1, 2, 3)), last - 2)
    w.resolve_at = (first, first + 1) if rng.random() < 0.1 else (first,)
    if rng.random() < 0.9:
        w.close_at = min(w.resolve_at[-1] + rng.choice((0, 1)), last - 1)
        if rng.random() < 0.7:
            w.ratings = tuple(rng.choice((5, 5, 5, 4, 4, 3, 2)) for _ in range(rng.randint(1, 3)))
