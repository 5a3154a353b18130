"""The scoring policy: a versioned document (weights, points target, grade bands), parsed from
the plain data that `store.policies` reads out of the package's policies/*.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cobuild_contracts.enums import Grade

MEMBER_COMPONENTS = ("points", "community_rating")
WHISTLE_COMPONENTS = (
    "whistle_response_rate",
    "whistle_completion_rate",
    "whistle_satisfaction_rate",
)
UNIT_COMPONENTS = (
    "fulfilment_rate",
    "on_time_rate",
    "resident_mean",
    "expert_mean",
    "member_pass_share",
    # The unit's whistles as a department (吹哨报到), the year's rates x100. Off unless a
    # policy weights them: a unit that received no whistle gives their weight to the rest.
    *WHISTLE_COMPONENTS,
)


class PolicyError(ValueError):
    pass


@dataclass(frozen=True)
class Policy:
    version: str
    member_weights: dict[str, Decimal]
    points_target: Decimal
    unit_weights: dict[str, Decimal]
    fulfilment_basis: str  # "count" or "value"
    on_time_basis: str
    bands: tuple[tuple[Grade, Decimal], ...]  # highest first
    unit_honour_grades: frozenset[Grade]
    member_honour_roll: bool
    # The share of members (and, separately, of units) that may be 优秀, or None: uncapped.
    # The tie rule is `domain.quota` (ARCHITECTURE.md, "The 优秀 quota").
    excellent_quota: Decimal | None = None
    # How long a publication is shown for objections (公示), in working days.
    objection_working_days: int = 5

    @property
    def weighs_whistles(self) -> bool:
        return any(k in self.unit_weights for k in WHISTLE_COMPONENTS)

    def grade(self, score: Decimal) -> Grade:
        for grade, floor in self.bands:
            if score >= floor:
                return grade
        return Grade.FAIL

    def grade_below_excellent(self, score: Decimal) -> Grade:
        """The grade a score would have if 优秀 were out of reach (a quota's demotion)."""
        for grade, floor in self.bands:
            if grade != Grade.EXCELLENT and score >= floor:
                return grade
        return Grade.FAIL

    @property
    def excellent_floor(self) -> Decimal:
        return dict(self.bands)[Grade.EXCELLENT]

    @property
    def pass_mark(self) -> Decimal:
        return dict(self.bands)[Grade.PASS]


def _dec(value: Any, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except Exception as exc:
        raise PolicyError(f"{where}: not a decimal: {value!r}") from exc


def _weights(section: dict[str, Any], allowed: tuple[str, ...], where: str) -> dict[str, Decimal]:
    comps = section.get("components") or {}
    unknown = set(comps) - set(allowed)
    if unknown:
        raise PolicyError(f"{where}: unknown components {sorted(unknown)}")
    weights = {k: _dec(v.get("weight"), f"{where}.{k}.weight") for k, v in comps.items()}
    if sum(weights.values()) != Decimal(1):
        raise PolicyError(f"{where}: weights must add up to 1")
    return weights


def quota_of(value: Any, where: str) -> Decimal | None:
    """A share of 优秀 in (0, 1], or None for no cap."""
    if value is None:
        return None
    share = _dec(value, where)
    if not Decimal(0) < share <= Decimal(1):
        raise PolicyError(f"{where}: a share between 0 and 1 (0.20 is 20%)")
    return share


def parse(doc: dict[str, Any]) -> Policy:
    member, unit, grades = doc["member"], doc["unit"], doc["grades"]
    mapping = member["components"]["points"]["mapping"]
    if mapping.get("kind") != "linear_to_target":
        raise PolicyError(f"member.points.mapping: unknown kind {mapping.get('kind')!r}")
    unit_comps = unit["components"]
    bands = tuple(
        (g, _dec(grades[g.value], f"grades.{g.value}"))
        for g in (Grade.EXCELLENT, Grade.GOOD, Grade.PASS)
    )
    public = doc.get("public") or {}
    publication = doc.get("publication") or {}
    days = publication.get("objection_working_days", 5)
    if not isinstance(days, int) or not 1 <= days <= 30:
        raise PolicyError("publication.objection_working_days: a whole number from 1 to 30")
    return Policy(
        version=str(doc["version"]),
        member_weights=_weights(member, MEMBER_COMPONENTS, "member"),
        points_target=_dec(mapping["target"], "member.points.mapping.target"),
        unit_weights=_weights(unit, UNIT_COMPONENTS, "unit"),
        fulfilment_basis=unit_comps.get("fulfilment_rate", {}).get("basis", "count"),
        on_time_basis=unit_comps.get("on_time_rate", {}).get("basis", "count"),
        bands=bands,
        unit_honour_grades=frozenset(
            Grade(g) for g in public.get("unit_honour_roll", ["excellent"])
        ),
        member_honour_roll=bool(public.get("member_honour_roll", False)),
        excellent_quota=quota_of(grades.get("excellent_quota"), "grades.excellent_quota"),
        objection_working_days=days,
    )
