"""The community's members (在职党员) as the points service keeps them: reports waiting for
an answer (accepted or declined in bulk, all or none) and the members serving here. Names
are shown only on these pages; they never leave the points service otherwise
(ARCHITECTURE.md, "Personal data")."""

from __future__ import annotations

from typing import Any

from cobuild_console.runtime import ConsoleRuntime
from cobuild_console.usecases.parties import names


async def of_community(
    rt: ConsoleRuntime, token: str, community_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, str]]:
    """(reports waiting, members serving here, unit names)."""
    found = await rt.services.every("points", f"/communities/{community_id}/members", token)
    waiting = [
        m
        for m in found
        if m["status"] == "requested" and str(m.get("requested_community_id")) == community_id
    ]
    serving = [
        m for m in found if m["status"] == "reported" and str(m.get("community_id")) == community_id
    ]
    serving.sort(key=lambda m: str(m["name"]))
    units = await names.of(rt, token, {str(m["unit_id"]) for m in found})
    return waiting, serving, units


async def decide(
    rt: ConsoleRuntime,
    token: str,
    community_id: str,
    member_ids: list[str],
    reason: str | None,
    key: str,
) -> dict[str, Any]:
    """Accept (reason None) or decline the reports, all or none (the points service's bulk
    commands; a repeat changes nothing)."""
    verb = "accept" if reason is None else "decline"
    body: dict[str, Any] = {"member_ids": member_ids}
    if reason is not None:
        body["reason"] = reason
    answer: dict[str, Any] = await rt.services.post(
        "points", f"/communities/{community_id}/reports/{verb}", token, body, idempotency_key=key
    )
    return answer
