"""The public board (上墙公示) for residents, with no account: a street's or a community's
board as the evaluation service serves it (JSON, with names; no personal data) and a
community's member honour roll as the points service serves it (names masked there: the
console shows them as they come). These calls carry no token; the browser's address is
forwarded, so the services' per-address limits count residents, not the console."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cobuild_console.runtime import ConsoleRuntime
from cobuild_console.usecases.phone_public import public_call

ROLL_PAGE = 50  # honoured members a page


async def board(
    rt: ConsoleRuntime, kind: str, party_id: str, year: int | None = None
) -> dict[str, Any]:
    """A street's (`kind` "streets") or a community's ("communities") board; `year` picks the
    honour rolls' year (the latest published up to it; default: this year)."""
    return await public_call(
        rt, "evaluation", "GET", f"/public/{kind}/{party_id}", params={"year": year}
    )


@dataclass(frozen=True)
class HonourRoll:
    board: dict[str, Any]  # the community's board (its name, street, year and state)
    roll: dict[str, Any] | None  # the points service's page; None: no roll for the year


async def honour_roll(
    rt: ConsoleRuntime, community_id: str, year: int | None, offset: int
) -> HonourRoll:
    """The community's member honour roll of the board's year (the latest published up to
    `year`), a page at a time, best first."""
    found = await board(rt, "communities", community_id, year)
    if found["year"] is None or not found["member_rolls"]:
        return HonourRoll(found, None)
    roll = await public_call(
        rt,
        "points",
        "GET",
        f"/public/communities/{community_id}/honour-roll",
        params={"year": found["year"], "limit": ROLL_PAGE, "offset": offset},
    )
    return HonourRoll(found, roll)
