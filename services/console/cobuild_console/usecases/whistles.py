"""Whistles (吹哨报到) through the escalations service with the acting person's token: the
boxes (raised, received, supervised), raising one with a photo, and the receiver's and the
raiser's steps; the three rates from the evaluation service."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from cobuild_console.gateways.services import ServiceRefusal, ServiceUnavailable
from cobuild_console.runtime import ConsoleRuntime
from cobuild_console.usecases.parties import names

SERVICE = "escalations"


@dataclass(frozen=True)
class WhistleView:
    whistle: dict[str, Any]
    evidence: list[dict[str, Any]]
    history: list[dict[str, Any]]
    parties: dict[str, str]


async def box(rt: ConsoleRuntime, token: str, which: str) -> list[dict[str, Any]]:
    """A box as the service orders it: by time left, soonest first."""
    return await rt.services.every(SERVICE, "/whistles", token, {"box": which}, cap=500)


async def party_names(
    rt: ConsoleRuntime, token: str, whistles: list[dict[str, Any]]
) -> dict[str, str]:
    mentioned = {str(w["receiver_party_id"]) for w in whistles}
    mentioned |= {str(w["raiser_party_id"]) for w in whistles}
    return await names.of(rt, token, mentioned)


async def places(rt: ConsoleRuntime, token: str, party_id: str) -> list[dict[str, Any]]:
    """Where a matter can be: the raiser's own community or street, and the places in it."""
    own, below = await asyncio.gather(
        rt.services.get("agreements", f"/parties/{party_id}", token),
        rt.services.every("agreements", "/parties", token, {"parent_id": party_id}),
    )
    return [own, *[p for p in below if p.get("kind") in ("community", "grid")]]


async def raise_whistle(
    rt: ConsoleRuntime, token: str, body: dict[str, Any], key: str
) -> dict[str, Any]:
    answer: dict[str, Any] = await rt.services.post(
        SERVICE, "/whistles", token, body, idempotency_key=key
    )
    return answer


async def upload(
    rt: ConsoleRuntime,
    token: str,
    whistle_id: str,
    filename: str,
    content: bytes,
    content_type: str,
    key: str,
) -> dict[str, Any]:
    answer: dict[str, Any] = await rt.services.upload(
        SERVICE,
        f"/whistles/{whistle_id}/evidence",
        token,
        filename=filename,
        content=content,
        content_type=content_type,
        idempotency_key=key,
    )
    return answer


async def one(rt: ConsoleRuntime, token: str, whistle_id: str) -> WhistleView:
    whistle, evidence, history = await asyncio.gather(
        rt.services.get(SERVICE, f"/whistles/{whistle_id}", token),
        rt.services.every(SERVICE, f"/whistles/{whistle_id}/evidence", token),
        rt.services.every(SERVICE, f"/whistles/{whistle_id}/history", token),
    )
    parties = await party_names(rt, token, [whistle])
    return WhistleView(whistle, evidence, history, parties)


async def step(
    rt: ConsoleRuntime, token: str, whistle_id: str, what: str, body: Any, key: str
) -> dict[str, Any]:
    """respond, resolve, confirm or reopen."""
    answer: dict[str, Any] = await rt.services.post(
        SERVICE, f"/whistles/{whistle_id}/{what}", token, body, idempotency_key=key
    )
    return answer


async def resolve(rt: ConsoleRuntime, token: str, whistle_id: str, note: str, key: str) -> None:
    """Resolved with every file the receiver uploaded to it (the service checks they are)."""
    view = await one(rt, token, whistle_id)
    receiver = str(view.whistle["receiver_party_id"])
    mine = [str(e["evidence_id"]) for e in view.evidence if str(e["party_id"]) == receiver]
    await step(rt, token, whistle_id, "resolve", {"note": note, "evidence_ids": mine}, key)


async def evidence_file(
    rt: ConsoleRuntime, token: str, whistle_id: str, evidence_id: str
) -> httpx.Response:
    return await rt.services.request(
        SERVICE, "GET", f"/whistles/{whistle_id}/evidence/{evidence_id}", token
    )


async def rates(
    rt: ConsoleRuntime, token: str, scope: str, party_id: str, as_of: date | None = None
) -> dict[str, Any]:
    view: dict[str, Any] = await rt.services.get(
        "evaluation",
        "/whistle-rates",
        token,
        scope=scope,
        id=party_id,
        as_of=as_of.isoformat() if as_of else None,
    )
    return view


async def rates_of_place(
    rt: ConsoleRuntime, token: str, scope: str, party_id: str, as_of: date
) -> dict[str, Any] | None:
    """A place's three rates for the supervisors' dashboard; None when the evaluation service
    does not know the place yet (it learns places from events) or does not answer."""
    try:
        return await rates(rt, token, scope, party_id, as_of)
    except (ServiceRefusal, ServiceUnavailable):
        return None
