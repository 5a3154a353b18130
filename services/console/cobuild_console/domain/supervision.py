"""The supervisors' pages as figures (pure): whose scope a role reads, the drill-down's
levels, the league table's order with shared ranks, and the overdue list's filters.

Levels: district → streets → communities → units → agreements → commitments. The ledger
answers the first three and the last two (GET /ledger's children); a community's units are
the evaluation service's GET /ledger/units, which sums each unit's agreements there."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# The role a supervisor acts in → the ledger scope of its party.
SCOPES = {"district_admin": "district", "street_admin": "street"}
LEVELS = ("district", "street", "community", "unit", "agreement", "commitment")


def scope_of(role: str) -> str | None:
    return SCOPES.get(role)


def _rate_key(value: str | None) -> Decimal:
    # No figure yet (nothing due or signed) ranks below any figure, even 0%.
    return Decimal(-1) if value is None else Decimal(value)


@dataclass(frozen=True)
class LeagueRow:
    rank: int
    unit_id: str
    name: str
    agreements: int
    figures: dict[str, Any]


def league(units: list[dict[str, Any]]) -> list[LeagueRow]:
    """Units by fulfilment rate (by count), then on-time rate, then name. Units with equal
    rates share a rank and the next rank skips (1, 2, 2, 4)."""

    def key(u: dict[str, Any]) -> tuple[Decimal, Decimal]:
        f = u["figures"]
        return (_rate_key(f["fulfilment_rate"]), _rate_key(f["on_time_rate"]))

    ordered = sorted(units, key=lambda u: (tuple(-k for k in key(u)), u["name"] or ""))
    rows: list[LeagueRow] = []
    for n, u in enumerate(ordered):
        rank = rows[-1].rank if rows and key(ordered[n - 1]) == key(u) else n + 1
        rows.append(
            LeagueRow(rank, str(u["unit_id"]), u["name"] or "", u["agreements_count"], u["figures"])
        )
    return rows


@dataclass(frozen=True)
class OverdueFilters:
    street: str = ""
    community: str = ""
    unit: str = ""
    category: str = ""

    def keeps(self, row: dict[str, Any]) -> bool:
        return (
            (not self.street or str(row.get("street_id")) == self.street)
            and (not self.community or str(row["community_id"]) == self.community)
            and (not self.unit or str(row["unit_id"]) == self.unit)
            and (not self.category or row.get("category") == self.category)
        )

    def query(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}


def choices(rows: list[dict[str, Any]], id_key: str, name_key: str) -> list[tuple[str, str]]:
    """The distinct (id, name) pairs of the rows, by name: a filter's options."""
    found = {str(r[id_key]): r.get(name_key) or "" for r in rows if r.get(id_key)}
    return sorted(found.items(), key=lambda kv: (kv[1], kv[0]))
