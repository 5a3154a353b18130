"""What the public board shows, from the evaluation service's board: each row of the
drill-down with its rates as percentages, and the chart's numbers (the same as the table's:
the chart is drawn from the page's data, never from another read)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cobuild_console.domain.rates import RATES, percent


@dataclass(frozen=True)
class Row:
    id: str
    name: str
    href: str  # the row's own board ("" for a unit: it has none)
    signed: int
    fulfilled: int
    overdue: int
    agreements: int | None
    rates: dict[str, str | None]  # by RATES name, as percentages ("90.0") or None


def rows(board: dict[str, Any]) -> list[Row]:
    """A street's communities (each linking to its board) or a community's units."""
    street = board["kind"] == "street"
    return [
        Row(
            id=str(c["id"]),
            name=c["name"],
            href=f"/board/communities/{c['id']}" if street else "",
            signed=c["figures"]["signed"],
            fulfilled=c["figures"]["fulfilled"],
            overdue=c["figures"]["overdue"],
            agreements=c.get("agreements"),
            rates={k: percent(c["figures"][k]) for k in RATES},
        )
        for c in board["children"]
    ]


def scope_rates(board: dict[str, Any]) -> dict[str, str | None]:
    return {k: percent(board["figures"][k]) for k in RATES}


def chart(rows: list[Row], series: str, empty: str) -> dict[str, Any]:
    """Horizontal bars of the fulfilment rate (by count), one per row in the table's order;
    a row with no figure yet has no bar and says `empty`."""
    return {
        "labels": [r.name for r in rows],
        "series": series,
        "values": [r.rates["fulfilment_rate"] for r in rows],
        "empty": empty,
    }
