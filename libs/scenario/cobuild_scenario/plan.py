"""A district's co-building year as a plan: pure and seeded (no I/O, no clock).

The same seed and scale give the same plan. Business time moves in ticks (Saturdays, 10:00
Asia/Shanghai); every planned step names the tick it happens at. The plan keeps each member's
points under the rule set's caps (per day, per source, per category and year), so what a member
should earn is the plain sum of what the plan gives them.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

from cobuild_kit.clock import BUSINESS_TZ

LOCAL = BUSINESS_TZ  # the plan is written in business time
YEAR = 2026
START = datetime(2026, 1, 5, 9, 0, tzinfo=LOCAL)  # set-up, talk and signing happen here
YEAR_END = datetime(2026, 12, 31, 20, 0, tzinfo=LOCAL)  # evaluations and the assessment
MID_YEAR = date(2026, 6, 30)
LAST_DAY = date(2026, 12, 31)
FIRST_TICK = date(2026, 1, 10)  # a Saturday
LAST_TICK = date(2026, 12, 26)
TICK_TIME = time(10, 0)
ACTIVITY_START, ACTIVITY_END = time(9, 0), time(12, 0)

CATEGORIES = (
    "neighbourhood_watch",
    "happy_compound",
    "quality_service",
    "peoples_welfare",
    "business_support",
)
UNIT_TYPES = (
    "government_office",
    "public_institution",
    "enterprise",
    "school",
    "social_organisation",
)

# Points the plan gives (the 2026-v1 rule set's rates; the e2e test re-reads the YAML itself).
TASK_HOURS = (Decimal("4.00"), Decimal("2.50"), Decimal("3.00"))
ACTIVITY_HOURS = Decimal("3.00")
DAY_CAP = Decimal("20.00")
TASK_PER_HOUR, ACTIVITY_PER_HOUR, WISH_FLAT = Decimal(3), Decimal(2), Decimal(5)


class Outcome(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"  # done after its deadline: flagged overdue first, then fulfilled
    REFUSED_ONCE = "refused_once"  # refused once, then done again and confirmed, in time
    PARTIAL = "partial"  # fulfilled with less than the committed quantity
    NEVER = "never"  # claimed, some progress, never done: overdue at year end


OUTCOME_MIX = (
    (Outcome.ON_TIME, 62),
    (Outcome.LATE, 12),
    (Outcome.REFUSED_ONCE, 8),
    (Outcome.PARTIAL, 6),
    (Outcome.NEVER, 12),
)


@dataclass(frozen=True)
class Scale:
    streets: int
    communities: int
    units: int
    members: int
    tasks: int
    projects: int
    funds_fen: int
    tick_weeks: int  # ticks every n weeks
    activities_per_community: int
    wishes_per_community: int
    experts: int
    # Member units of each street's alliance (党建联盟) with monthly joint meetings; 0: none.
    alliance_members: int = 0


SCALES: dict[str, Scale] = {
    # The seed district (the seed articles' figures): 4 streets, 21 communities, 343 units, ~5,000 members,
    # 983 tasks, 57 service projects and ¥2.114 million of funds.
    "district": Scale(4, 21, 343, 5000, 983, 57, 211_400_000, 1, 8, 14, 12, 8),
    "small": Scale(1, 3, 20, 200, 40, 4, 12_000_000, 6, 4, 4, 3, 6),
    # For many reruns (the fault suite): every kind of step and outcome, in a few ticks.
    "tiny": Scale(1, 2, 8, 40, 14, 2, 4_000_000, 8, 1, 1, 1),
}


@dataclass(frozen=True)
class Street:
    code: str
    name: str


@dataclass(frozen=True)
class Community:
    code: str
    name: str
    street: str


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    unit_type: str
    paired: tuple[str, ...]  # community codes


@dataclass(frozen=True)
class Member:
    index: int
    name: str
    phone: str
    unit: str
    community: str  # residence community, where they report and serve
    rating: Decimal | None = None  # the community's rating at year end (0..100)


@dataclass(frozen=True)
class Need:
    key: str
    community: str
    category: str
    kind: str
    title: str
    quantity: int
    quantity_unit: str
    funds_fen: int
    wanted_by: date


@dataclass(frozen=True)
class Resource:
    key: str
    unit: str
    category: str
    kind: str
    title: str
    capacity: int
    capacity_unit: str


@dataclass
class Item:
    """One commitment and what happens to it: the tick of each step."""

    key: str
    agreement: str
    title: str
    kind: str
    category: str
    obligor: str  # "unit" or "community"
    deadline: date
    deadline_tick: int
    funds_fen: int
    quantity: int
    quantity_unit: str
    need: str | None
    outcome: Outcome
    claim_tick: int
    progress_tick: int
    done_ticks: tuple[int, ...] = ()  # the last one is confirmed; earlier ones are refused
    confirm_tick: int | None = None
    paid_fen: int = 0
    actual_quantity: int | None = None
    evidence: bool = False
    participants: list[tuple[int, Decimal]] = field(default_factory=list)  # member, hours

    @property
    def fulfilled(self) -> bool:
        return self.outcome is not Outcome.NEVER

    @property
    def final_done_tick(self) -> int | None:
        return self.done_ticks[-1] if self.done_ticks else None


@dataclass
class Agreement:
    key: str
    community: str
    unit: str
    origin: str  # "negotiated", "claim" or "meeting" (a joint meeting's decision)
    proposer: str  # "unit" or "community" ("street" for a decision)
    countered: bool
    items: list[Item]
    signed_tick: int | None = None  # None: signed at the start; a decision: its meeting's tick


@dataclass(frozen=True)
class Alliance:
    """A street's alliance: its member units in rotation order, and the unit that leaves
    mid-year (from `leaves_on`, recorded at `leave_tick`)."""

    key: str
    street: str
    name: str
    units: tuple[str, ...]
    leaver: str | None
    leaves_on: date | None
    leave_tick: int | None


@dataclass
class Meeting:
    """A monthly joint meeting: held on the month's first Saturday, recorded at the first
    tick on or after it. `chair` is whose turn it is by the plan's own reckoning (the
    driver names it, so the service refuses the meeting if it reckons otherwise)."""

    key: str
    alliance: str
    number: int
    held_on: date
    tick: int
    chair: str
    present: tuple[str, ...]
    decisions: list[str]  # agreement keys, one per decision


@dataclass
class Activity:
    key: str
    community: str
    tick: int
    title: str
    category: str
    capacity: int
    sign_ups: list[int]  # member indexes
    attendees: list[int]  # those who check in and are confirmed (3 hours each)


@dataclass
class Wish:
    key: str
    community: str
    title: str
    publish_tick: int
    member: int | None  # who claims it at publish_tick + 1 and fulfils it
    confirm_tick: int | None


@dataclass(frozen=True)
class ExpertReview:
    expert: int
    item: str
    criteria: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ResidentReview:
    item: str
    ratings: tuple[int, ...]


@dataclass
class Plan:
    seed: int
    scale_name: str
    scale: Scale
    ticks: list[date]
    streets: list[Street]
    communities: list[Community]
    units: list[Unit]
    members: list[Member]
    needs: list[Need]
    resources: list[Resource]
    agreements: list[Agreement]
    activities: list[Activity]
    wishes: list[Wish]
    experts: list[str]
    expert_reviews: list[ExpertReview]
    resident_reviews: list[ResidentReview]
    alliances: list[Alliance] = field(default_factory=list)
    meetings: list[Meeting] = field(default_factory=list)

    def items(self) -> list[Item]:
        return [i for a in self.agreements for i in a.items]

    def tick_at(self, n: int) -> datetime:
        return datetime.combine(self.ticks[n], TICK_TIME, tzinfo=LOCAL)

    def community(self, code: str) -> Community:
        return next(c for c in self.communities if c.code == code)

    def summary(self) -> dict[str, int]:
        """What is signed at the start (the decisions of the year's meetings apart)."""
        signed = [a for a in self.agreements if a.signed_tick is None]
        items = [i for a in signed for i in a.items]
        return {
            "streets": len(self.streets),
            "communities": len(self.communities),
            "units": len(self.units),
            "members": len(self.members),
            "agreements": len(signed),
            "commitments": len(items),
            "tasks": sum(1 for i in items if i.kind == "task"),
            "service_projects": sum(1 for i in items if i.kind == "service_project"),
            "funds_fen": sum(i.funds_fen for i in items),
            "activities": len(self.activities),
            "wishes": len(self.wishes),
            "meetings": len(self.meetings),
            "decisions": sum(len(m.decisions) for m in self.meetings),
        }


# --- names -------------------------------------------------------------------------------

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉建红霖文博宇浩然子涵欣怡梓轩诗雨俊杰嘉怡志强晓东海燕春梅国庆建国丹丹"
STREET_NAMES = ("东湖街道", "南山街道", "西城街道", "北园街道", "中心街道", "滨江街道")
COMMUNITY_WORDS = [
    "和平",
    "幸福",
    "阳光",
    "康乐",
    "新华",
    "安居",
    "友谊",
    "春晖",
    "明珠",
    "金桥",
    "翠湖",
    "长虹",
    "育才",
    "文昌",
    "东风",
    "红旗",
    "民主",
    "建设",
    "光明",
    "团结",
    "兴业",
    "锦绣",
    "丰收",
    "青松",
]
UNIT_PREFIX = {
    "government_office": ("区司法局", "区民政局", "区卫健委", "区住建局", "区税务局", "区人社局"),
    "public_institution": ("区人民医院", "区图书馆", "区文化馆", "区疾控中心", "区档案馆"),
    "enterprise": ("电力公司", "供水公司", "农商银行", "燃气公司", "通信公司", "建工集团"),
    "school": ("实验小学", "第一中学", "职业学院", "外国语学校", "师范附小"),
    "social_organisation": ("志愿者协会", "律师协会", "红十字会", "慈善总会", "青年商会"),
}
NEED_TITLES = {
    "neighbourhood_watch": ("楼道安全巡查", "夜间治安巡逻", "独居老人探访", "消防通道清理"),
    "happy_compound": ("小区照明维修", "楼道粉刷", "健身器材更新", "停车棚改造"),
    "quality_service": ("法律咨询进社区", "义诊服务", "儿童课后辅导", "家电义修"),
    "peoples_welfare": ("长者食堂资助", "困难家庭帮扶", "助残服务", "爱心早餐"),
    "business_support": ("小微企业政策宣讲", "就业招聘会", "创业培训", "商户消防培训"),
}
PROJECT_TITLES = ("红帆邻里守望项目", "红帆幸福小区项目", "红帆品质服务项目", "红帆惠民暖心项目")
WISH_TITLES = ("一台助行器", "孩子的学习桌", "老人的老花镜", "一次上门理发", "一套冬衣", "一本字典")


def _name(rng: random.Random) -> str:
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    return rng.choice(SURNAMES) + given


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """`total` split into `parts` positive integers that add up exactly."""
    if parts <= 0:
        return []
    weights = [rng.randint(5, 20) for _ in range(parts)]
    whole = sum(weights)
    out = [total * w // whole for w in weights]
    out[0] += total - sum(out)
    return out


def _ticks(scale: Scale) -> list[date]:
    out, day = [], FIRST_TICK
    while day <= LAST_TICK:
        out.append(day)
        day += timedelta(weeks=scale.tick_weeks)
    return out


# --- the plan ------------------------------------------------------------------------------


def make_plan(seed: int, scale_name: str = "small") -> Plan:
    try:
        scale = SCALES[scale_name]
    except KeyError:
        raise ValueError(f"unknown scale {scale_name!r}: choose from {', '.join(SCALES)}") from None
    rng = random.Random(seed)
    ticks = _ticks(scale)
    streets = [
        Street(f"S{n + 1}", STREET_NAMES[n % len(STREET_NAMES)]) for n in range(scale.streets)
    ]
    communities = [
        Community(
            f"C{n + 1:02d}",
            f"{COMMUNITY_WORDS[n % len(COMMUNITY_WORDS)]}社区",
            streets[n * scale.streets // scale.communities].code,
        )
        for n in range(scale.communities)
    ]
    units = _units(scale, communities, rng)
    members = _members(scale, units, communities, rng)
    agreements, needs = _agreements(scale, units, communities, ticks, rng)
    resources = _resources(units, rng)
    plan = Plan(
        seed=seed,
        scale_name=scale_name,
        scale=scale,
        ticks=ticks,
        streets=streets,
        communities=communities,
        units=units,
        members=members,
        needs=needs,
        resources=resources,
        agreements=agreements,
        activities=[],
        wishes=[],
        experts=[f"专家{_name(rng)}" for _ in range(scale.experts)],
        expert_reviews=[],
        resident_reviews=[],
    )
    _participation(plan, rng)
    _reviews(plan, rng)
    # Drawn from a generator of their own, after everything else: the rest of the plan is
    # the same with or without the joint meetings.
    _joint_meetings(plan, random.Random(seed * 7919 + 39))
    return plan


def _units(scale: Scale, communities: list[Community], rng: random.Random) -> list[Unit]:
    units = []
    for n in range(scale.units):
        kind = UNIT_TYPES[n % len(UNIT_TYPES)]
        base = UNIT_PREFIX[kind][(n // len(UNIT_TYPES)) % len(UNIT_PREFIX[kind])]
        home = communities[n % len(communities)]
        paired = [home.code]
        if rng.random() < 0.3 and len(communities) > 1:
            other = rng.choice([c for c in communities if c.code != home.code])
            paired.append(other.code)
        units.append(Unit(f"U{n + 1:03d}", f"{base}第{n + 1}支部", kind, tuple(paired)))
    return units


def _members(
    scale: Scale, units: list[Unit], communities: list[Community], rng: random.Random
) -> list[Member]:
    by_code = {c.code: c for c in communities}
    members = []
    for n in range(scale.members):
        unit = units[n % len(units)]
        home = by_code[unit.paired[0]]
        if rng.random() < 0.3:  # lives elsewhere in the same street
            home = rng.choice([c for c in communities if c.street == home.street])
        phone = f"13{(n * 7919 + 1_000_003) % 1_000_000_000:09d}"
        members.append(Member(n, _name(rng), phone, unit.code, home.code))
    return members


def _outcome(rng: random.Random) -> Outcome:
    roll, acc = rng.randrange(100), 0
    for outcome, share in OUTCOME_MIX:
        acc += share
        if roll < acc:
            return outcome
    return Outcome.ON_TIME


def _schedule(item: Item, n_ticks: int, rng: random.Random, start: int = 0) -> None:
    """Pick the tick of every step so that the outcome really happens (see Outcome); the
    first step comes at `start` or later (a decision: after the meeting that made it)."""
    d = item.deadline_tick
    last = n_ticks - 1
    if item.outcome is Outcome.REFUSED_ONCE:
        item.claim_tick = rng.randint(start, d - 1)
        first = rng.randint(item.claim_tick, d - 1)
        second = rng.randint(first + 1, d)
        item.done_ticks = (first, second)
        item.confirm_tick = second
    elif item.outcome is Outcome.LATE:
        item.claim_tick = rng.randint(start, d)
        done = rng.randint(d + 1, last)
        item.done_ticks = (done,)
        item.confirm_tick = done
    elif item.outcome is Outcome.NEVER:
        item.claim_tick = rng.randint(start, d)
    else:
        item.claim_tick = rng.randint(start, d)
        done = rng.randint(item.claim_tick, d)
        item.done_ticks = (done,)
        item.confirm_tick = done + 1 if rng.random() < 0.3 and done < last else done
    end = item.done_ticks[0] if item.done_ticks else min(d, last)
    item.progress_tick = rng.randint(item.claim_tick, max(item.claim_tick, end))
    if item.funds_fen:
        if item.outcome is Outcome.PARTIAL:
            item.paid_fen = item.funds_fen * 6 // 10
        elif item.outcome is Outcome.NEVER:
            item.paid_fen = item.funds_fen * 3 // 10
        else:
            item.paid_fen = item.funds_fen
    if item.outcome is Outcome.PARTIAL:
        item.actual_quantity = max(1, item.quantity * 7 // 10)
    item.evidence = item.fulfilled and rng.random() < 0.6


def _new_item(
    key: str,
    agreement: str,
    title: str,
    kind: str,
    category: str,
    obligor: str,
    ticks: list[date],
    funds_fen: int,
    need: str | None,
    rng: random.Random,
) -> Item:
    n = len(ticks)
    d = rng.randint(2, n - 2)
    gap = (ticks[d + 1] - ticks[d]).days
    quantity = rng.randint(2, 20) if kind != "funds" else 1
    item = Item(
        key=key,
        agreement=agreement,
        title=title,
        kind=kind,
        category=category,
        obligor=obligor,
        deadline=ticks[d] + timedelta(days=rng.randrange(gap)),
        deadline_tick=d,
        funds_fen=funds_fen,
        quantity=quantity,
        quantity_unit={"task": "次", "service_project": "期", "funds": "笔"}.get(kind, "项"),
        need=need,
        outcome=_outcome(rng),
        claim_tick=0,
        progress_tick=0,
    )
    if item.outcome is Outcome.PARTIAL and item.quantity < 2:
        item.outcome = Outcome.ON_TIME
    _schedule(item, n, rng)
    return item


def _agreements(
    scale: Scale,
    units: list[Unit],
    communities: list[Community],
    ticks: list[date],
    rng: random.Random,
) -> tuple[list[Agreement], list[Need]]:
    """One negotiated agreement per unit (with its first paired community); a few tasks are
    direct claims of a need instead. Every unit-owed item answers a published need."""
    n_funds = max(1, scale.tasks // 8)
    kinds = ["task"] * scale.tasks + ["service_project"] * scale.projects + ["funds"] * n_funds
    project_funds = _split(scale.funds_fen // 2, scale.projects, rng)
    funds_funds = _split(scale.funds_fen - sum(project_funds), n_funds, rng)
    money = {("service_project", n): f for n, f in enumerate(project_funds)}
    money.update({("funds", n): f for n, f in enumerate(funds_funds)})
    seen: dict[str, int] = defaultdict(int)
    specs: list[tuple[str, int]] = []
    for kind in kinds:
        specs.append((kind, money.get((kind, seen[kind]), 0)))
        seen[kind] += 1
    rng.shuffle(specs)
    # Every unit gets at least one item; the rest are spread at random.
    buckets: list[list[tuple[str, int]]] = [[] for _ in units]
    for n, spec in enumerate(specs):
        buckets[n if n < len(units) else rng.randrange(len(units))].append(spec)
    agreements: list[Agreement] = []
    needs: list[Need] = []
    for u, (unit, bucket) in enumerate(zip(units, buckets, strict=True)):
        community = unit.paired[0]
        akey = f"A{u + 1:03d}"
        items: list[Item] = []
        claims: list[Agreement] = []
        for k, (kind, fen) in enumerate(bucket):
            category = rng.choice(CATEGORIES)
            base = (
                rng.choice(PROJECT_TITLES)
                if kind == "service_project"
                else "共建资金"
                if kind == "funds"
                else rng.choice(NEED_TITLES[category])
            )
            title = f"{base}·{unit.code}-{k + 1}"
            obligor = "community" if kind == "task" and rng.random() < 0.08 else "unit"
            need_key = None
            if obligor == "unit":
                need_key = f"N-{unit.code}-{k + 1}"
            direct = kind == "task" and obligor == "unit" and rng.random() < 0.05
            ckey = f"{akey}-claim{k + 1}" if direct else akey
            item = _new_item(
                f"{ckey}-{k + 1}", ckey, title, kind, category, obligor, ticks, fen, need_key, rng
            )
            if need_key is not None:
                needs.append(
                    Need(
                        need_key,
                        community,
                        category,
                        kind,
                        title,
                        item.quantity,
                        item.quantity_unit,
                        fen,
                        item.deadline,
                    )
                )
            if direct:
                claims.append(Agreement(ckey, community, unit.code, "claim", "unit", False, [item]))
            else:
                items.append(item)
        if items:
            agreements.append(
                Agreement(
                    akey,
                    community,
                    unit.code,
                    "negotiated",
                    "unit" if rng.random() < 0.6 else "community",
                    rng.random() < 0.3,
                    items,
                )
            )
        agreements.extend(claims)
    # Needs nobody takes up this year, so the lists are not all matched.
    for n, c in enumerate(communities):
        for k in range(max(1, len(needs) // (10 * len(communities)))):
            category = CATEGORIES[(n + k) % len(CATEGORIES)]
            title = f"{rng.choice(NEED_TITLES[category])}·{c.code}-open{k + 1}"
            needs.append(
                Need(
                    f"N-{c.code}-open{k + 1}", c.code, category, "task", title, 5, "次", 0, LAST_DAY
                )
            )
    return agreements, needs


def _resources(units: list[Unit], rng: random.Random) -> list[Resource]:
    offers = {
        "task": ("志愿服务", "人次"),
        "service_project": ("专业服务项目", "期"),
        "volunteers": ("党员志愿者", "人"),
        "venue": ("活动场地", "次"),
    }
    out = []
    for unit in units:
        for k in range(1 + (rng.random() < 0.4)):
            kind = rng.choice(tuple(offers))
            label, unit_name = offers[kind]
            out.append(
                Resource(
                    f"R-{unit.code}-{k + 1}",
                    unit.code,
                    rng.choice(CATEGORIES),
                    kind,
                    f"{unit.name}{label}",
                    rng.randint(5, 50),
                    unit_name,
                )
            )
    return out


# --- people: participation, activities, wishes, ratings --------------------------------------


def _participation(plan: Plan, rng: random.Random) -> None:
    """Who takes part in which fulfilled commitment, activity and wish, under the caps: each
    member earns at most DAY_CAP on a business day and stays far below the yearly caps."""
    day_points: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    by_community: dict[str, list[Member]] = defaultdict(list)
    for m in plan.members:
        by_community[m.community].append(m)
    # Only the obligor's registered members may take part (the commitments service checks):
    # a member works on its own unit's items, in any community the unit serves ("work in the
    # unit"), and on the items the community where it lives owes.
    by_unit: dict[str, list[Item]] = defaultdict(list)
    owed_by_community: dict[str, list[Item]] = defaultdict(list)
    agreements = {a.key: a for a in plan.agreements}
    for item in sorted(plan.items(), key=lambda i: i.key):
        if not item.fulfilled:
            continue
        agreement = agreements[item.agreement]
        if item.obligor == "unit":
            by_unit[agreement.unit].append(item)
        else:
            owed_by_community[agreement.community].append(item)
    for code, members in by_community.items():
        for m in members:
            roll = rng.random()
            wanted = 6 if roll < 0.9 else 3 if roll < 0.96 else rng.randint(0, 1)
            own = list(by_unit[m.unit])
            others = list(owed_by_community[code])
            rng.shuffle(own)
            rng.shuffle(others)
            ticks_used: set[int] = set()
            for item in own + others:
                if wanted <= 0:
                    break
                tick = item.final_done_tick
                assert tick is not None
                if tick in ticks_used or len(item.participants) >= 400:
                    continue
                hours = TASK_HOURS[0] if rng.random() < 0.8 else rng.choice(TASK_HOURS[1:])
                item.participants.append((m.index, hours))
                day_points[(m.index, tick)] += hours * TASK_PER_HOUR
                ticks_used.add(tick)
                wanted -= 1
    for item in plan.items():
        item.participants.sort()
    _activities(plan, by_community, day_points, rng)
    _wishes(plan, by_community, day_points, rng)
    for n, m in enumerate(plan.members):
        if rng.random() < 0.25:
            rating = Decimal(rng.randint(170, 200)) / 2
            plan.members[n] = Member(m.index, m.name, m.phone, m.unit, m.community, rating)


def _fits(day_points: dict[tuple[int, int], Decimal], member: int, tick: int, pts: Decimal) -> bool:
    return day_points[(member, tick)] + pts <= DAY_CAP


def _activities(
    plan: Plan,
    by_community: dict[str, list[Member]],
    day_points: dict[tuple[int, int], Decimal],
    rng: random.Random,
) -> None:
    pts = ACTIVITY_HOURS * ACTIVITY_PER_HOUR
    last = len(plan.ticks) - 1
    busy: set[tuple[int, int]] = set()  # (member, tick): activities of a tick overlap in time
    for c in plan.communities:
        members = by_community[c.code]
        for k in range(plan.scale.activities_per_community):
            tick = rng.randint(0, last)
            category = rng.choice(CATEGORIES)
            capacity = rng.randint(8, 15)
            pool = [
                m.index
                for m in members
                if (m.index, tick) not in busy and _fits(day_points, m.index, tick, pts)
            ]
            sign_ups = sorted(rng.sample(pool, min(capacity, len(pool))))
            attendees = [i for i in sign_ups if rng.random() < 0.85]
            for i in sign_ups:
                busy.add((i, tick))
            for i in attendees:
                day_points[(i, tick)] += pts
            plan.activities.append(
                Activity(
                    f"ACT-{c.code}-{k + 1}",
                    c.code,
                    tick,
                    f"{rng.choice(NEED_TITLES[category])}志愿活动·{c.code}-{k + 1}",
                    category,
                    capacity,
                    sign_ups,
                    attendees,
                )
            )


def _wishes(
    plan: Plan,
    by_community: dict[str, list[Member]],
    day_points: dict[tuple[int, int], Decimal],
    rng: random.Random,
) -> None:
    last = len(plan.ticks) - 1
    for c in plan.communities:
        members = by_community[c.code]
        for k in range(plan.scale.wishes_per_community):
            publish = rng.randint(0, last - 1)
            confirm = publish + 1
            pool = [m.index for m in members if _fits(day_points, m.index, confirm, WISH_FLAT)]
            member = rng.choice(pool) if pool and rng.random() < 0.85 else None
            if member is not None:
                day_points[(member, confirm)] += WISH_FLAT
            plan.wishes.append(
                Wish(
                    f"W-{c.code}-{k + 1}",
                    c.code,
                    f"{rng.choice(WISH_TITLES)}·{c.code}-{k + 1}",
                    publish,
                    member,
                    confirm if member is not None else None,
                )
            )


def _reviews(plan: Plan, rng: random.Random) -> None:
    criteria = ("quality", "timeliness", "satisfaction")
    for item in plan.items():
        if not item.fulfilled:
            continue
        if rng.random() < 0.35:
            count = rng.randint(1, 3)
            plan.resident_reviews.append(
                ResidentReview(item.key, tuple(rng.randint(3, 5) for _ in range(count)))
            )
        if item.kind == "service_project" or rng.random() < 0.05:
            plan.expert_reviews.append(
                ExpertReview(
                    rng.randrange(len(plan.experts)),
                    item.key,
                    tuple((c, rng.randint(70, 100)) for c in criteria),
                )
            )


# --- joint meetings (联席会议) ----------------------------------------------------------------

DECISION_FUNDS = (0, 0, 200_000, 500_000, 1_000_000)  # fen
LEAVES_ON = date(YEAR, 7, 1)  # one member unit of each alliance leaves mid-year


def _first_saturday(month: int) -> date:
    day = date(YEAR, month, 1)
    return day + timedelta(days=(5 - day.weekday()) % 7)


def meeting_days(first_tick: date) -> list[date]:
    """Each month's first Saturday, the first not before the first tick (January's is)."""
    return [max(_first_saturday(m), first_tick) for m in range(1, 13)]


def rotation_chairs(
    units: tuple[str, ...], leaver: str | None, leaves_on: date | None, days: list[date]
) -> list[str]:
    """Whose turn it is at each meeting, reckoned here apart from the service: the unit after
    the last chair in the order, skipping the unit that has left."""
    chairs: list[str] = []
    previous: str | None = None
    for day in days:
        start = units.index(previous) + 1 if previous is not None else 0
        turns = [units[(start + k) % len(units)] for k in range(len(units))]
        chair = next(
            u for u in turns if not (u == leaver and leaves_on is not None and day >= leaves_on)
        )
        chairs.append(chair)
        previous = chair
    return chairs


def _decision(plan: Plan, key: str, category: str, tick: int, rng: random.Random) -> Item:
    """A decision's commitment: due after the meeting, played like any other item, from the
    tick after the meeting's on (its commitment opens when the meeting is recorded)."""
    n = len(plan.ticks)
    d = rng.randint(tick + 1, n - 2)
    gap = (plan.ticks[d + 1] - plan.ticks[d]).days
    item = Item(
        key=f"{key}-1",
        agreement=key,
        title=f"{rng.choice(NEED_TITLES[category])}·{key}",
        kind="task",
        category=category,
        obligor="unit",
        deadline=plan.ticks[d] + timedelta(days=rng.randrange(gap)),
        deadline_tick=d,
        funds_fen=rng.choice(DECISION_FUNDS),
        quantity=rng.randint(2, 10),
        quantity_unit="次",
        need=None,
        outcome=_outcome(rng),
        claim_tick=0,
        progress_tick=0,
    )
    if item.outcome is Outcome.REFUSED_ONCE and d < tick + 2:
        item.outcome = Outcome.ON_TIME  # no room for a refusal and a second try
    _schedule(item, n, rng, start=tick + 1)
    return item


def _joint_meetings(plan: Plan, rng: random.Random) -> None:
    """An alliance per street of `alliance_members` of its units, chairing in turn at a
    meeting a month; each meeting with room left in the year decides one to three things,
    each led by the chair (mostly) or another member, for one of the street's communities."""
    size = plan.scale.alliance_members
    if not size:
        return
    n = len(plan.ticks)
    days = meeting_days(plan.ticks[0])
    ticks = [next(t for t, d in enumerate(plan.ticks) if d >= day) for day in days]
    street_of = {c.code: c.street for c in plan.communities}
    for street in plan.streets:
        pool = sorted(u.code for u in plan.units if street_of[u.paired[0]] == street.code)
        if len(pool) < 2:
            continue
        units = tuple(sorted(rng.sample(pool, min(size, len(pool)))))
        leaver = units[len(units) // 2]
        alliance = Alliance(
            f"AL-{street.code}",
            street.code,
            f"{street.name}党建联盟",
            units,
            leaver,
            LEAVES_ON,
            ticks[LEAVES_ON.month - 1],  # recorded before July's meeting
        )
        plan.alliances.append(alliance)
        communities = [c.code for c in plan.communities if c.street == street.code]
        chairs = rotation_chairs(units, leaver, LEAVES_ON, days)
        for k, (day, tick, chair) in enumerate(zip(days, ticks, chairs, strict=True)):
            members = [u for u in units if not (u == leaver and day >= LEAVES_ON)]
            present = tuple(u for u in members if u == chair or rng.random() < 0.8)
            meeting = Meeting(
                f"M-{street.code}-{k + 1:02d}", alliance.key, k + 1, day, tick, chair, present, []
            )
            if tick <= n - 3:  # room for a deadline and the work before the year ends
                for j in range(rng.randint(1, 3)):
                    key = f"{meeting.key}-D{j + 1}"
                    unit = chair if rng.random() < 0.75 else rng.choice(members)
                    item = _decision(plan, key, rng.choice(CATEGORIES), tick, rng)
                    community = rng.choice(communities)
                    plan.agreements.append(
                        Agreement(key, community, unit, "meeting", "street", False, [item], tick)
                    )
                    meeting.decisions.append(key)
            plan.meetings.append(meeting)


# --- what the plan implies (used for the driver's own pacing, never for the report) --------


def planned_points(plan: Plan) -> dict[int, Decimal]:
    """Member index → the points the plan gives them over the year (no cap ever bites)."""
    out: dict[int, Decimal] = defaultdict(Decimal)
    for item in plan.items():
        if item.fulfilled:
            for member, hours in item.participants:
                out[member] += hours * TASK_PER_HOUR
    for activity in plan.activities:
        for member in activity.attendees:
            out[member] += ACTIVITY_HOURS * ACTIVITY_PER_HOUR
    for wish in plan.wishes:
        if wish.member is not None:
            out[wish.member] += WISH_FLAT
    return dict(out)
