"""A party's fulfilment rate and on-time rate this year, from the evaluation service's
ledger: today's figures, and the figures at each month's end for the trend."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Any

from cobuild_console.domain.rates import Point, checkpoints, point
from cobuild_console.runtime import ConsoleRuntime


@dataclass(frozen=True)
class Rates:
    scope: str
    as_of: date
    figures: dict[str, Any]  # today's, as the ledger answers them (counts and fen)
    now: Point
    trend: list[Point]


async def of_party(
    rt: ConsoleRuntime, token: str, scope: str, party_id: str, as_of: date | None = None
) -> Rates:
    """`as_of`: the date the supervisors' dashboard chose (default today); the trend runs
    from January of its year to it."""
    today = as_of or rt.today()
    days = checkpoints(today)

    async def at(day: date) -> dict[str, Any]:
        view: dict[str, Any] = await rt.services.get(
            "evaluation",
            "/ledger",
            token,
            scope=scope,
            id=party_id,
            as_of=day.isoformat(),
            children_limit=1,
        )
        return view

    views = await asyncio.gather(*(at(d) for d in days))
    trend = [point(d, v["figures"]) for d, v in zip(days, views, strict=True)]
    # The trend starts at the first month the party had signed anything: months before it
    # have no figure at all, and would only push the chart's line to the right.
    first = next((n for n, v in enumerate(views) if v["figures"]["signed"]), len(views) - 1)
    return Rates(scope, today, views[-1]["figures"], trend[-1], trend[first:])
