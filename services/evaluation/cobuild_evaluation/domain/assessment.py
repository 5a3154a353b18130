"""The year-end assessment (pure): inputs in, sorted and quantized results out.

Same inputs and same policy give byte-identical output (Decimal with explicit quantize,
results sorted by subject id, ties ranked equal and listed by id).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from cobuild_contracts.enums import Grade

from cobuild_evaluation.domain.policy import Policy
from cobuild_evaluation.domain.quota import cutoff, keeps_excellent

Q2 = Decimal("0.01")
Q4 = Decimal("0.0001")
HUNDRED = Decimal(100)


def q2(value: Decimal) -> Decimal:
    return value.quantize(Q2, ROUND_HALF_UP)


@dataclass(frozen=True)
class MemberInput:
    member_id: str
    community_id: str
    street_id: str | None
    unit_id: str
    points: Decimal
    community_rating: Decimal | None  # mean 0..100, or None when unrated


@dataclass(frozen=True)
class UnitInput:
    unit_id: str
    fulfilment_rate: Decimal | None  # 0..1
    on_time_rate: Decimal | None
    resident_mean: Decimal | None  # 1..5
    expert_mean: Decimal | None  # 0..100
    # The year's whistle rates as a department (0..1), only when the policy weighs them.
    whistle_response_rate: Decimal | None = None
    whistle_completion_rate: Decimal | None = None
    whistle_satisfaction_rate: Decimal | None = None


@dataclass(frozen=True)
class Scored:
    subject_id: str
    score: Decimal
    grade: Grade
    components: dict[str, Decimal]
    community_id: str | None = None
    street_id: str | None = None
    unit_id: str | None = None
    ranks: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject_id": self.subject_id,
            "community_id": self.community_id,
            "street_id": self.street_id,
            "unit_id": self.unit_id,
            "score": format(self.score, "f"),
            "grade": self.grade.value,
            "components": {k: format(v, "f") for k, v in sorted(self.components.items())},
            "ranks": dict(sorted(self.ranks.items())),
        }


@dataclass(frozen=True)
class Outcome:
    year: int
    policy_version: str
    members: list[Scored]
    units: list[Scored]
    excellent_quota: Decimal | None = None

    def totals(self) -> dict[str, Any]:
        return {
            "member_count": len(self.members),
            "unit_count": len(self.units),
            "member_grades": grade_counts(self.members),
            "unit_grades": grade_counts(self.units),
            "member_excellent_rate": excellent_rate(self.members),
            "unit_excellent_rate": excellent_rate(self.units),
            **quota_total(self.excellent_quota),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "policy_version": self.policy_version,
            "totals": self.totals(),
            "members": [m.as_dict() for m in self.members],
            "units": [u.as_dict() for u in self.units],
        }

    def canonical(self) -> bytes:
        return json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":")).encode()

    def digest(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()


def quota_total(quota: Decimal | None) -> dict[str, str]:
    """The quota among the totals, only when there is one: an uncapped run's totals (and so
    its digest) stay what they were before quotas existed."""
    return {} if quota is None else {"excellent_quota": format(quota.quantize(Q4), "f")}


def cap_excellent(items: list[Scored], policy: Policy) -> list[Scored]:
    """The policy's 优秀 quota applied (`domain.quota`): the excellent beyond it drop a band."""
    if policy.excellent_quota is None:
        return items
    line = cutoff(
        Counter(s.score for s in items).items(),
        len(items),
        policy.excellent_quota,
        policy.excellent_floor,
    )
    return [
        s
        if s.grade != Grade.EXCELLENT or keeps_excellent(s.score, policy.excellent_floor, line)
        else replace(s, grade=policy.grade_below_excellent(s.score), ranks={})
        for s in items
    ]


def grade_counts(items: list[Scored]) -> dict[str, int]:
    counts = dict.fromkeys((g.value for g in Grade), 0)
    for s in items:
        counts[s.grade.value] += 1
    return counts


def excellent_rate(items: list[Scored]) -> str | None:
    if not items:
        return None
    n = sum(1 for s in items if s.grade == Grade.EXCELLENT)
    return format((Decimal(n) / Decimal(len(items))).quantize(Q4, ROUND_HALF_UP), "f")


def weighted(values: dict[str, Decimal | None], weights: dict[str, Decimal]) -> Decimal:
    """Weighted mean of the components present; a missing one gives its weight to the rest."""
    present = {k: v for k, v in values.items() if v is not None and k in weights}
    total_weight = sum((weights[k] for k in present), Decimal(0))
    if total_weight == 0:
        return Decimal("0.00")
    raw = sum((weights[k] * v for k, v in present.items()), Decimal(0)) / total_weight
    return q2(min(max(raw, Decimal(0)), HUNDRED))


def points_score(points: Decimal, target: Decimal) -> Decimal:
    if target <= 0:
        return HUNDRED
    return q2(min(max(points, Decimal(0)) / target * HUNDRED, HUNDRED))


def score_member(m: MemberInput, policy: Policy) -> Scored:
    values: dict[str, Decimal | None] = {
        "points": points_score(m.points, policy.points_target),
        "community_rating": None if m.community_rating is None else q2(m.community_rating),
    }
    score = weighted(values, policy.member_weights)
    return Scored(
        subject_id=m.member_id,
        score=score,
        grade=policy.grade(score),
        components={k: v for k, v in values.items() if v is not None},
        community_id=m.community_id,
        street_id=m.street_id,
        unit_id=m.unit_id,
    )


def _pct(rate: Decimal | None) -> Decimal | None:
    return None if rate is None else q2(rate * HUNDRED)


def score_unit(u: UnitInput, pass_share: Decimal | None, policy: Policy) -> Scored:
    values: dict[str, Decimal | None] = {
        "fulfilment_rate": _pct(u.fulfilment_rate),
        "on_time_rate": _pct(u.on_time_rate),
        "resident_mean": None if u.resident_mean is None else q2(u.resident_mean * 20),
        "expert_mean": None if u.expert_mean is None else q2(u.expert_mean),
        "member_pass_share": _pct(pass_share),
    }
    if policy.weighs_whistles:  # otherwise absent, so a result is what it was before them
        values.update(
            whistle_response_rate=_pct(u.whistle_response_rate),
            whistle_completion_rate=_pct(u.whistle_completion_rate),
            whistle_satisfaction_rate=_pct(u.whistle_satisfaction_rate),
        )
    score = weighted(values, policy.unit_weights)
    return Scored(
        subject_id=u.unit_id,
        score=score,
        grade=policy.grade(score),
        components={k: v for k, v in values.items() if v is not None},
        unit_id=u.unit_id,
    )


def rank(items: list[Scored], group: Callable[[Scored], str | None], name: str) -> None:
    """Competition ranking (1, 2, 2, 4) by score within each group, written into `ranks`."""
    groups: dict[str | None, list[Scored]] = defaultdict(list)
    for s in items:
        groups[group(s)].append(s)
    for members in groups.values():
        members.sort(key=lambda s: (-s.score, s.subject_id))
        previous: Decimal | None = None
        position = 0
        for index, s in enumerate(members, start=1):
            if s.score != previous:
                position, previous = index, s.score
            s.ranks[name] = position


def pass_shares(members: Iterable[Scored], pass_mark: Decimal) -> dict[str, Decimal]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for m in members:
        assert m.unit_id is not None
        c = counts[m.unit_id]
        c[0] += 1
        c[1] += 1 if m.score >= pass_mark else 0
    return {
        u: (Decimal(p) / Decimal(n)).quantize(Q4, ROUND_HALF_UP) for u, (n, p) in counts.items()
    }


def assess(
    year: int, policy: Policy, members: list[MemberInput], units: list[UnitInput]
) -> Outcome:
    scored_members = cap_excellent(
        sorted((score_member(m, policy) for m in members), key=lambda s: s.subject_id), policy
    )
    rank(scored_members, lambda s: s.community_id, "community")
    rank(scored_members, lambda s: s.street_id, "street")
    rank(scored_members, lambda s: "district", "district")
    shares = pass_shares(scored_members, policy.pass_mark)
    scored_units = cap_excellent(
        sorted(
            (score_unit(u, shares.get(u.unit_id), policy) for u in units),
            key=lambda s: s.subject_id,
        ),
        policy,
    )
    rank(scored_units, lambda s: "district", "district")
    return Outcome(year, policy.version, scored_members, scored_units, policy.excellent_quota)


# --- the same results, streamed: per-member work is a lookup and a string format ---------


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class MemberScore:
    """What a member's result owes to its input values alone (points and rating): members
    sharing them share it, so it is computed once per distinct pair."""

    score: Decimal
    grade: Grade
    components: dict[str, Decimal]
    score_text: str
    components_json: str


def member_score(points: Decimal, rating: Decimal | None, policy: Policy) -> MemberScore:
    s = score_member(MemberInput("", "", None, "", points, rating), policy)
    parts = {k: format(v, "f") for k, v in sorted(s.components.items())}
    return MemberScore(s.score, s.grade, s.components, format(s.score, "f"), _compact(parts))


def member_json(
    member_id: str,
    community_id: str,
    street_id: str,
    unit_id: str,
    ms: MemberScore,
    rank_community: int,
    rank_street: int,
    rank_district: int,
) -> str:
    """Exactly `json.dumps(Scored.as_dict(), sort_keys=True, separators=(",", ":"))`."""
    return (
        f'{{"community_id":"{community_id}","components":{ms.components_json},'
        f'"grade":"{ms.grade.value}","ranks":{{"community":{rank_community},'
        f'"district":{rank_district},"street":{rank_street}}},"score":"{ms.score_text}",'
        f'"street_id":"{street_id}","subject_id":"{member_id}","unit_id":"{unit_id}"}}'
    )


def totals_of(
    member_grades: dict[str, int], units: list[Scored], quota: Decimal | None = None
) -> dict[str, Any]:
    """`Outcome.totals()` from the members' grade counts."""
    grades = dict.fromkeys((g.value for g in Grade), 0) | member_grades
    n = sum(grades.values())
    excellent = (
        None
        if n == 0
        else format(
            (Decimal(grades[Grade.EXCELLENT.value]) / Decimal(n)).quantize(Q4, ROUND_HALF_UP), "f"
        )
    )
    return {
        "member_count": n,
        "unit_count": len(units),
        "member_grades": grades,
        "unit_grades": grade_counts(units),
        "member_excellent_rate": excellent,
        "unit_excellent_rate": excellent_rate(units),
        **quota_total(quota),
    }


def cap_pairs(
    pairs: list[MemberScore], counts: dict[int, int], policy: Policy
) -> list[MemberScore]:
    """`cap_excellent` for the streamed run: each (points, rating) pair's grade, given how
    many ranked members have it; a pair's members share a score, so they share its grade."""
    if policy.excellent_quota is None:
        return pairs
    line = cutoff(
        [(pairs[i].score, n) for i, n in counts.items()],
        sum(counts.values()),
        policy.excellent_quota,
        policy.excellent_floor,
    )
    return [
        p
        if p.grade != Grade.EXCELLENT or keeps_excellent(p.score, policy.excellent_floor, line)
        else replace(p, grade=policy.grade_below_excellent(p.score))
        for p in pairs
    ]


def canonical_frame(
    year: int, policy_version: str, totals: dict[str, Any], units: list[Scored]
) -> tuple[str, str]:
    """`Outcome.canonical()` around the members' lines: (before them, after them)."""
    unit_lines = ",".join(_compact(u.as_dict()) for u in units)
    return (
        '{"members":[',
        f'],"policy_version":{_compact(policy_version)},"totals":{_compact(totals)},'
        f'"units":[{unit_lines}],"year":{year}}}',
    )


def score_units(units: list[UnitInput], shares: dict[str, Decimal], policy: Policy) -> list[Scored]:
    """The units' part of `assess` (the members' pass shares computed elsewhere)."""
    scored = cap_excellent(
        sorted(
            (score_unit(u, shares.get(u.unit_id), policy) for u in units),
            key=lambda s: s.subject_id,
        ),
        policy,
    )
    rank(scored, lambda s: "district", "district")
    return scored
