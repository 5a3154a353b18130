"""Micro-wishes (微心愿) of the community's residents: listed with their state, published by
the community, confirmed once a member has fulfilled one (points follow)."""

from __future__ import annotations

from typing import Any

from cobuild_console.runtime import ConsoleRuntime

STATUSES = ("open", "claimed", "done", "fulfilled")


async def of_community(
    rt: ConsoleRuntime, token: str, community_id: str, status: str | None
) -> list[dict[str, Any]]:
    params = {"status": status} if status else None
    return await rt.services.every("points", f"/communities/{community_id}/wishes", token, params)


async def publish(
    rt: ConsoleRuntime, token: str, community_id: str, title: str, description: str, key: str
) -> dict[str, Any]:
    body = {"community_id": community_id, "title": title, "description": description}
    answer: dict[str, Any] = await rt.services.post(
        "points", "/wishes", token, body, idempotency_key=key
    )
    return answer


async def confirm(rt: ConsoleRuntime, token: str, wish_id: str, key: str) -> dict[str, Any]:
    answer: dict[str, Any] = await rt.services.post(
        "points", f"/wishes/{wish_id}/confirm", token, None, idempotency_key=key
    )
    return answer
