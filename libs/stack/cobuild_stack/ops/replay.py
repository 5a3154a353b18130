"""`cobuild replay`: mark kept outbox rows for republishing; each service's relay resends them."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
from cobuild_kit.outbox import mark_for_replay
from rich.markup import escape
from rich.table import Table

from ..errors import StackError
from .common import Stack, VarDir, clear_errors, console, describe_failure, parse_when


async def replay(
    dsns: dict[str, str], since: datetime, until: datetime, topic: str | None
) -> dict[str, int]:
    """Rows marked per service. The relay republishes them in id order; inboxes absorb repeats."""
    marked: dict[str, int] = {}
    for service, dsn in dsns.items():
        try:
            conn = await asyncpg.connect(dsn, timeout=10)
        except (OSError, asyncpg.PostgresError) as exc:
            raise StackError(f"cannot reach the {service} database: {exc}") from None
        try:
            marked[service] = await mark_for_replay(conn, since, until, topic)
        finally:
            await conn.close()
    return marked


@clear_errors
def command(
    since: Annotated[
        str, typer.Option(help="Start (inclusive), ISO date or date-time; naive = Asia/Shanghai.")
    ],
    service: Annotated[
        str, typer.Option(help="The service whose outbox is replayed, or 'all'.")
    ] = "all",
    until: Annotated[
        str | None, typer.Option(help="End (exclusive), as --since. Default: now.")
    ] = None,
    topic: Annotated[str | None, typer.Option(help="Only events of this topic.")] = None,
    rewind: Annotated[
        bool,
        typer.Option(
            help="Also make every running service's consumers re-read their topics from the "
            "start (needed after the broker lost its data; inboxes absorb repeats). Start the "
            "broker, empty, and create its topics first: the rewind waits for it."
        ),
    ] = True,
    var_dir: VarDir = Path("var"),
) -> None:
    """Republish the events a service kept in its outbox between --since and --until."""
    start = parse_when(since, "--since")
    end = parse_when(until, "--until") if until else datetime.now(UTC)
    if end <= start:
        raise StackError("--until must be after --since")
    stack = Stack(var_dir)
    names = list(stack.info["databases"]) if service == "all" else [service]
    marked = asyncio.run(replay({n: stack.dsn(n) for n in names}, start, end, topic))
    console.print(f"replaying events kept from {start.isoformat()} until {end.isoformat()}")
    table = Table()
    table.add_column("service")
    table.add_column("events marked", justify="right")
    for name, count in marked.items():
        table.add_row(escape(name), str(count))
    console.print(table)
    console.print(f"{sum(marked.values())} event(s) will be republished by the relays, in order.")
    if rewind:
        for name in stack.info["services"]:
            rewound = _rewind(stack, name)
            console.print(f"{escape(name)}: {rewound} partition(s) rewound")


def _rewind(stack: Stack, service: str, patience_s: float = 90.0) -> int:
    """POST /ops/consumers/rewind, again while the service answers 503 (the broker is still
    coming back, or its consumers are rebalancing), for up to `patience_s`."""
    district = uuid.uuid4()  # the rewind endpoint checks the role only
    deadline = time.monotonic() + patience_s
    with stack.client(service, "operator", district) as client:
        while True:
            answer = client.request("POST", "/ops/consumers/rewind", accept=(503,))
            if answer.status_code != 503:
                return int(answer.json()["partitions_rewound"])
            if time.monotonic() > deadline:
                raise StackError(f"{service}: cannot rewind: {describe_failure(answer)}")
            time.sleep(1.0)
