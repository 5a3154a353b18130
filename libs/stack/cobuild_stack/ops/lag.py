"""`cobuild lag`: every service's consumer lag, outbox backlog and parked rows in one table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from .common import NO_PARTY, Stack, VarDir, clear_errors, console


def read_lag(stack: Stack) -> dict[str, dict[str, Any] | str]:
    """Per service: its /ops/lag answer, or why there is none."""
    out: dict[str, dict[str, Any] | str] = {}
    for name in stack.info["services"]:
        with stack.client(name, "operator", NO_PARTY) as api:
            try:
                out[name] = api.json("GET", "/ops/lag")
            except Exception as exc:  # one service down must not hide the others
                out[name] = str(exc)
    return out


def _groups(lag: dict[str, Any]) -> str:
    parts = [
        f"{group}: " + ", ".join(f"{topic}={n}" for topic, n in sorted(per.items()))
        for group, per in sorted(lag.get("groups", {}).items())
    ]
    return "\n".join(parts) or "-"


@clear_errors
def command(var_dir: VarDir = Path("var")) -> None:
    """Consumer lag per group and topic, the outbox backlog, and the outbox rows parked (never
    sent until `cobuild outbox resend`), of every running service. Exits 1 if a service does
    not answer."""
    stack = Stack(var_dir)
    table = Table(title="Lag")
    table.add_column("service")
    table.add_column("outbox backlog", justify="right")
    table.add_column("outbox parked", justify="right")
    table.add_column("consumer lag", justify="right")
    table.add_column("per group")
    failed = False
    lags = read_lag(stack)
    for name, lag in lags.items():
        if isinstance(lag, str):
            failed = True
            table.add_row(escape(name), "-", "-", "-", f"[red]{escape(lag)}[/]")
        else:
            table.add_row(
                escape(name),
                str(lag["outbox_backlog"]),
                f"[red]{parked}[/]" if (parked := lag.get("outbox_parked", 0)) else "0",
                str(lag["total_lag"]),
                escape(_groups(lag)),
            )
    console.print(table)
    if any(isinstance(lag, dict) and lag.get("outbox_parked") for lag in lags.values()):
        console.print("[red]parked outbox rows: see `cobuild outbox parked`, then resend[/]")
    if failed:
        raise typer.Exit(1)
