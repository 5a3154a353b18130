"""Negotiation from the community's side: a first draft to a suggested unit (from a need),
a counter-proposal to the current draft, and the agreements signed with their commitments."""

from __future__ import annotations

import asyncio
from typing import Any

from cobuild_console.runtime import ConsoleRuntime
from cobuild_console.usecases.needs import reference
from cobuild_console.usecases.parties import names

OPEN_STATES = frozenset({"negotiating", "amending"})
IN_FORCE = frozenset({"signed", "amending"})


async def need_and_unit(
    rt: ConsoleRuntime, token: str, need_id: str | None, unit_id: str
) -> tuple[dict[str, Any] | None, dict[str, str], dict[str, Any]]:
    """The need a draft answers (if any), the unit's name, and the reference data."""
    need_task = (
        rt.services.get("agreements", f"/needs/{need_id}", token) if need_id else asyncio.sleep(0)
    )
    need, ref = await asyncio.gather(need_task, reference(rt, token))
    party = await rt.services.get("agreements", f"/parties/{unit_id}", token)
    return need, {str(party["party_id"]): str(party["name"])}, ref


async def propose(rt: ConsoleRuntime, token: str, body: dict[str, Any], key: str) -> dict[str, Any]:
    answer: dict[str, Any] = await rt.services.post(
        "agreements", "/agreements", token, body, idempotency_key=key
    )
    return answer


async def counter(
    rt: ConsoleRuntime, token: str, agreement_id: str, body: dict[str, Any], key: str
) -> dict[str, Any]:
    answer: dict[str, Any] = await rt.services.post(
        "agreements", f"/agreements/{agreement_id}/counters", token, body, idempotency_key=key
    )
    return answer


async def agreement(
    rt: ConsoleRuntime, token: str, agreement_id: str
) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    found, ref = await asyncio.gather(
        rt.services.get("agreements", f"/agreements/{agreement_id}", token), reference(rt, token)
    )
    parties = await names.of(rt, token, [found["community_id"], found["unit_id"]])
    return found, parties, ref


async def of_party(
    rt: ConsoleRuntime, token: str, party_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, str]]:
    """The agreements in force with their commitments, and those under negotiation."""
    summaries = await rt.services.every(
        "agreements", "/agreements", token, {"party_id": party_id}, cap=200
    )
    in_force = [a for a in summaries if a["state"] in IN_FORCE]
    details = await asyncio.gather(
        *(
            rt.services.get("agreements", f"/agreements/{a['agreement_id']}", token)
            for a in in_force
        )
    )
    negotiating = [a for a in summaries if a["state"] == "negotiating"]
    mentioned = {str(a["unit_id"]) for a in summaries} | {str(a["community_id"]) for a in summaries}
    return list(details), negotiating, await names.of(rt, token, mentioned)
