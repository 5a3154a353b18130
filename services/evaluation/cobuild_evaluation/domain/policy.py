"""The scoring policy: a versioned document (weights, points target, grade bands), parsed from
the plain data that `store.policies` reads out of the package's policies/*.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cobuild_contracts.enums import Grade

MEMBER_COMPONENTS = ("points", "community_rating")
UNIT_COMPONENTS = (
    "fulfilment_rate",
    "on_time_rate",
    "resident_mean",
    "expert_mean",
    "member_pass_share",
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

    def grade(self, score: Decimal) -> Grade:
        for grade, floor in self.bands:
            if score >= floor:
                return grade
        return Grade.FAIL

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
    )
