"""`cobuild assess preview|publish`: the year-end assessment, through the evaluation service."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from .common import Stack, VarDir, clear_errors, console, district_or_only

app = typer.Typer(help="Preview or publish a year's assessment.", no_args_is_help=True)

Year = Annotated[int, typer.Option(help="The assessed year.")]
District = Annotated[
    str | None, typer.Option(help="The district's id. Default: the only registered district.")
]
Policy = Annotated[str, typer.Option("--policy", help="The assessment policy version.")]


def _run(
    var_dir: Path, action: str, year: int, district: str | None, body: dict[str, Any]
) -> dict[str, Any]:
    stack = Stack(var_dir)
    district_id = district_or_only(stack, district)
    with stack.client("evaluation", "district_admin", district_id) as api:
        result: dict[str, Any] = api.json(
            "POST",
            f"/assessments/{year}/{action}",
            json={"district_id": str(district_id), **body},
        )
    return result


def _print_totals(title: str, totals: dict[str, Any]) -> None:
    table = Table(title=title)
    table.add_column("grade")
    table.add_column("members", justify="right")
    table.add_column("units", justify="right")
    members, units = totals.get("member_grades", {}), totals.get("unit_grades", {})
    for grade in dict.fromkeys([*members, *units]):
        table.add_row(escape(grade), str(members.get(grade, 0)), str(units.get(grade, 0)))
    table.add_row("[bold]total[/]", str(totals.get("member_count")), str(totals.get("unit_count")))
    table.add_row(
        "[bold]excellent rate[/]",
        str(totals.get("member_excellent_rate") or "-"),
        str(totals.get("unit_excellent_rate") or "-"),
    )
    console.print(table)


@app.command("preview")
@clear_errors
def preview(
    year: Year,
    district: District = None,
    policy: Policy = "2026-v1",
    var_dir: VarDir = Path("var"),
) -> None:
    """A dry run: the results a publish would store, nothing written."""
    result = _run(var_dir, "preview", year, district, {"policy_version": policy})
    _print_totals(f"Assessment {year} preview ({result.get('policy_version')})", result["totals"])
    console.print(f"digest {result['digest']}")


@app.command("publish")
@clear_errors
def publish(
    year: Year,
    district: District = None,
    policy: Policy = "2026-v1",
    reason: Annotated[
        str | None, typer.Option(help="Why: required to re-publish a year (new policy).")
    ] = None,
    var_dir: VarDir = Path("var"),
) -> None:
    """Freeze the year: store the results and emit the scored events."""
    body: dict[str, Any] = {"policy_version": policy}
    if reason:
        body["reason"] = reason
    result = _run(var_dir, "publish", year, district, body)
    _print_totals(f"Assessment {year} published ({policy})", result)
    console.print(f"assessment {result['assessment_id']} digest {result['digest']}")
    if result.get("supersedes_assessment_id"):
        console.print(f"supersedes {result['supersedes_assessment_id']}")
