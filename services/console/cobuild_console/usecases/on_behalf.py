"""代录: what a community worker enters for a resident or member without a phone, at the
counter. Each act is done with the worker's own token (the services see who did it) and
then recorded in the access audit under her name, naming whom it was for
(ARCHITECTURE.md, "Access": "acts on someone's behalf ... recorded by the console")."""

from __future__ import annotations

from typing import Any

from cobuild_console.runtime import ConsoleRuntime


async def units_for(rt: ConsoleRuntime, token: str, community_id: str) -> list[dict[str, Any]]:
    """The units a member registering here may work at: those paired with the community
    first, then the others, by name."""
    units = await rt.services.every("agreements", "/parties", token, {"kind": "unit"}, cap=1000)
    return sorted(
        (u for u in units if u.get("active", True)),
        key=lambda u: (community_id not in {str(c) for c in u.get("paired_community_ids", [])},
                       str(u["name"])),
    )  # fmt: skip


async def report(
    rt: ConsoleRuntime, token: str, community_id: str, fields: dict[str, str], key: str
) -> dict[str, Any]:
    """Register the member as living here, ask to report here for them, and accept: three
    commands, each idempotent under its own key, so a retried form does each once."""
    member: dict[str, Any] = await rt.services.post(
        "points",
        "/members",
        token,
        {**fields, "community_id": community_id},
        idempotency_key=f"{key}-register",
    )
    member_id = str(member["member_id"])
    await rt.services.post(
        "points", f"/members/{member_id}/report", token, {}, idempotency_key=f"{key}-report"
    )
    accepted: dict[str, Any] = await rt.services.post(
        "points", f"/members/{member_id}/report/accept", token, None,
        idempotency_key=f"{key}-accept",
    )  # fmt: skip
    await rt.access.record_on_behalf(
        token, "points.report", member_id, f"member {member_id} reported to {community_id}"
    )
    return accepted


async def sign_up(
    rt: ConsoleRuntime, token: str, activity_id: str, member_id: str, key: str
) -> dict[str, Any]:
    answer: dict[str, Any] = await rt.services.post(
        "points",
        f"/activities/{activity_id}/sign-ups",
        token,
        {"member_id": member_id},
        idempotency_key=key,
    )
    await rt.access.record_on_behalf(
        token, "points.sign_up", member_id, f"member {member_id} signed up for {activity_id}"
    )
    return answer


async def wish(
    rt: ConsoleRuntime, token: str, community_id: str, title: str, description: str, key: str
) -> dict[str, Any]:
    body = {"community_id": community_id, "title": title, "description": description}
    made: dict[str, Any] = await rt.services.post(
        "points", "/wishes", token, body, idempotency_key=key
    )
    # A resident is no party of Cobuild's: the record names the wish, never the resident.
    await rt.access.record_on_behalf(
        token, "points.wish", None, f"wish {made['wish_id']} entered for a resident"
    )
    return made
