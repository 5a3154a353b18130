"""`cobuild outbox parked|resend`: the outbox rows a relay parked, and sending them again.

A relay parks a row the producer refuses as too large (it could never leave), and holds every
later row of the same topic and key behind it, so that key's order holds while every other
key's events go on (cobuild_kit.relay). After a fix (a producer and topic limit raised for
it, or the row corrected), `resend` un-parks the rows and the relay sends them in id order;
a row that still cannot be sent is parked again.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import asyncpg
import typer
from cobuild_kit.outbox import parked_rows, resend_parked
from rich.markup import escape
from rich.table import Table

from ..errors import StackError
from .common import Stack, VarDir, clear_errors, console, parse_uuid

app = typer.Typer(help="Parked outbox rows: list them, send them again.", no_args_is_help=True)
Service = Annotated[str, typer.Option(help="The service whose outbox to use, or 'all'.")]


async def _each(dsns: dict[str, str], work: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for service, dsn in dsns.items():
        try:
            conn = await asyncpg.connect(dsn, timeout=10)
        except (OSError, asyncpg.PostgresError) as exc:
            raise StackError(f"cannot reach the {service} database: {exc}") from None
        try:
            out[service] = await work(conn)
        finally:
            await conn.close()
    return out


def _dsns(stack: Stack, service: str) -> dict[str, str]:
    names = list(stack.info["databases"]) if service == "all" else [service]
    return {name: stack.dsn(name) for name in names}


@app.command("parked")
@clear_errors
def list_parked(service: Service = "all", var_dir: VarDir = Path("var")) -> None:
    """The parked rows of each service's outbox, in order, with their size and reason."""
    rows = asyncio.run(_each(_dsns(Stack(var_dir), service), parked_rows))
    table = Table(title="Parked outbox rows")
    for column in ("service", "id", "event type", "event id", "topic", "key", "bytes", "reason"):
        table.add_column(column)
    for name, parked in rows.items():
        for r in parked:
            table.add_row(
                escape(name), str(r["id"]), escape(r["event_type"]), r["event_id"],
                escape(r["topic"]), escape(r["key"]), str(r["size"]),
                escape(r["park_reason"] or ""),
            )  # fmt: skip
    console.print(table)
    console.print(f"{sum(len(p) for p in rows.values())} row(s) parked.")


@app.command("resend")
@clear_errors
def resend(
    service: Service = "all",
    event_id: Annotated[
        str | None,
        typer.Option(help="Only this parked event and the rows held behind it (its key)."),
    ] = None,
    var_dir: VarDir = Path("var"),
) -> None:
    """Un-park rows so each service's relay sends them again, in order (after a fix)."""
    chosen: UUID | None = parse_uuid(event_id, "--event-id") if event_id else None

    async def work(conn: asyncpg.Connection) -> int:
        return await resend_parked(conn, chosen)

    resent = asyncio.run(_each(_dsns(Stack(var_dir), service), work))
    table = Table()
    table.add_column("service")
    table.add_column("rows un-parked", justify="right")
    for name, count in resent.items():
        table.add_row(escape(name), str(count))
    console.print(table)
    console.print(
        f"{sum(resent.values())} row(s) will be sent by the relays, in order; "
        "one that still cannot be sent is parked again."
    )
