"""The report's whistles (吹哨报到): the three rates the evaluation service counted from the
escalations service's events, for the district, its streets and its departments, at mid-year
and at year end, over the year's whistles. Read from the services only, keyed by names."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from cobuild_scenario.actors import Actor

SNAPSHOTS = {"mid_year": "2026-06-30", "year_end": "2026-12-31"}
YEAR_START = "2026-01-01"
RATES = (
    ("response_rate", "response"),
    ("completion_rate", "completion"),
    ("satisfaction_rate", "satisfaction"),
)


async def figures(district: Actor, district_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, as_of in SNAPSHOTS.items():
        view = await district.get(
            "evaluation",
            "/whistle-rates",
            scope="district",
            id=district_id,
            as_of=as_of,
            raised_from=YEAR_START,
        )
        out[key] = {
            "as_of": as_of,
            "district": view["figures"],
            "streets": [{"name": c["name"], **c["figures"]} for c in view["children"]],
            "departments": [{"name": d["name"], **d["figures"]} for d in view["departments"]],
        }
    return out


def _pct(rate: str | None) -> str:
    return "—" if rate is None else f"{Decimal(rate) * 100:.1f}%"


def summary_line(whistles: dict[str, Any]) -> str:
    d = whistles["year_end"]["district"]
    return (
        f"whistles (吹哨报到): {d['raised']} raised; response rate {_pct(d['response_rate'])} "
        f"({d['responded_within_limit']} of {d['response_due']} due), completion rate "
        f"{_pct(d['completion_rate'])} ({d['resolved_within_limit']} of {d['resolution_due']}), "
        f"satisfaction rate {_pct(d['satisfaction_rate'])} ({d['satisfied']} of {d['rated']})"
    )


def _rows(snap: dict[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
    rows = [("district", snap["district"], "bold")]
    rows += [(s["name"], s, "cyan") for s in snap["streets"]]
    rows += [(d["name"], d, "") for d in snap["departments"]]
    return rows


def print_table(whistles: dict[str, Any], console: Console) -> None:
    end = whistles["year_end"]
    table = Table(
        title="Whistles (吹哨报到): the year's rates by street and department",
        caption=f"as of {end['as_of']}; within the limits, in working time",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("scope", no_wrap=True)
    table.add_column("raised", justify="right")
    for _, label in RATES:
        table.add_column(label, justify="right", no_wrap=True)
    for label, f, style in _rows(end):
        table.add_row(label, str(f["raised"]), *(_pct(f[k]) for k, _ in RATES), style=style)
    console.print(table)
