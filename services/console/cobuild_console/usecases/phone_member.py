"""What a member (在职党员) does from a phone: report to the community where they live, the
community's activities and their sign-ups, check in with the QR code's signed token, their
points with the chain verified, micro-wishes, and their own data. Everything is read with the
member's own token, whose party is the member: the points service answers for them alone."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from cobuild_console.runtime import ConsoleRuntime
from cobuild_console.usecases.parties import names


@dataclass(frozen=True)
class Me:
    """The member's record as the points service keeps it, with everything of theirs."""

    member: dict[str, Any]
    sign_ups: list[dict[str, Any]]
    wishes: list[dict[str, Any]]
    entries: list[dict[str, Any]]

    @property
    def community_id(self) -> str | None:
        """The community they serve once accepted (None before)."""
        found = self.member.get("community_id")
        return str(found) if found and self.member["status"] == "reported" else None

    def sign_up(self, activity_id: str) -> dict[str, Any] | None:
        return next((s for s in self.sign_ups if str(s["activity_id"]) == activity_id), None)


async def me(rt: ConsoleRuntime, token: str, member_id: str) -> Me:
    """The points service's export of the member (their own data only)."""
    found = await rt.services.get("points", f"/members/{member_id}/export", token)
    return Me(found["member"], found["activities"], found["wishes"], found["points_entries"])


async def streets_and_communities(
    rt: ConsoleRuntime, token: str
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each street of the directory with its communities, by name (for the report picker)."""
    streets, communities = await asyncio.gather(
        rt.services.every("agreements", "/parties", token, {"kind": "street"}),
        rt.services.every("agreements", "/parties", token, {"kind": "community"}),
    )
    by_street: dict[str, list[dict[str, Any]]] = {}
    for c in communities:
        by_street.setdefault(str(c.get("parent_id")), []).append(c)
    return [
        (s, sorted(by_street[str(s["party_id"])], key=lambda c: str(c["name"])))
        for s in sorted(streets, key=lambda s: str(s["name"]))
        if str(s["party_id"]) in by_street
    ]


async def party_names(rt: ConsoleRuntime, token: str, ids: set[str]) -> dict[str, str]:
    return await names.of(rt, token, {i for i in ids if i and i != "None"})


async def report(
    rt: ConsoleRuntime, token: str, member_id: str, community_id: str, key: str
) -> dict[str, Any]:
    answer: dict[str, Any] = await rt.services.post(
        "points",
        f"/members/{member_id}/report",
        token,
        {"community_id": community_id},
        idempotency_key=key,
    )
    return answer


async def activities(rt: ConsoleRuntime, token: str, community_id: str) -> list[dict[str, Any]]:
    found = await rt.services.every("points", f"/communities/{community_id}/activities", token)
    return sorted(found, key=lambda a: str(a["starts_at"]), reverse=True)


async def sign_up(rt: ConsoleRuntime, token: str, activity_id: str, key: str) -> dict[str, Any]:
    answer: dict[str, Any] = await rt.services.post(
        "points", f"/activities/{activity_id}/sign-ups", token, None, idempotency_key=key
    )
    return answer


async def cancel_sign_up(rt: ConsoleRuntime, token: str, activity_id: str, member_id: str) -> None:
    await rt.services.request(
        "points", "DELETE", f"/activities/{activity_id}/sign-ups/{member_id}", token
    )


async def check_in(
    rt: ConsoleRuntime, token: str, activity_id: str, check_in_token: str, key: str
) -> dict[str, Any]:
    answer: dict[str, Any] = await rt.services.post(
        "points",
        f"/activities/{activity_id}/check-in",
        token,
        {"token": check_in_token},
        idempotency_key=key,
    )
    return answer


@dataclass(frozen=True)
class MyPoints:
    year: int
    balance: str
    entries: list[dict[str, Any]]
    version: str
    verified: dict[str, Any]


async def points(rt: ConsoleRuntime, token: str, member_id: str, year: int) -> MyPoints:
    """The year's balance and entries, the rule set's version and the chain's verification."""
    found, verified, rules = await asyncio.gather(
        rt.services.get("points", f"/members/{member_id}/points", token, year=year, limit=500),
        rt.services.get("points", f"/members/{member_id}/points/verify", token, year=year),
        rt.services.get("points", "/points/rules", token, year=year),
    )
    entries = list(found["entries"]["items"]) if found.get("entries") else []
    entries.reverse()  # the latest first
    return MyPoints(year, str(found["balance"]), entries, str(rules["version"]), verified)


async def wishes(rt: ConsoleRuntime, token: str, community_id: str) -> list[dict[str, Any]]:
    return await rt.services.every("points", f"/communities/{community_id}/wishes", token)


async def wish_step(
    rt: ConsoleRuntime, token: str, wish_id: str, step: str, key: str
) -> dict[str, Any]:
    """`claim` a wish, or say it is `done` (the community then confirms)."""
    answer: dict[str, Any] = await rt.services.post(
        "points", f"/wishes/{wish_id}/{step}", token, None, idempotency_key=key
    )
    return answer


async def export(rt: ConsoleRuntime, token: str, member_id: str) -> bytes:
    response = await rt.services.request("points", "GET", f"/members/{member_id}/export", token)
    return response.content


async def show_full_name(
    rt: ConsoleRuntime, token: str, member_id: str, shown: bool, key: str
) -> dict[str, Any]:
    response = await rt.services.request(
        "points",
        "PATCH",
        f"/members/{member_id}/preferences",
        token,
        json={"show_full_name": shown},
        idempotency_key=key,
    )
    answer: dict[str, Any] = response.json()
    return answer


async def leave(
    rt: ConsoleRuntime, token: str, member_id: str, reason: str, key: str
) -> dict[str, Any]:
    answer: dict[str, Any] = await rt.services.post(
        "points", f"/members/{member_id}/leave", token, {"reason": reason}, idempotency_key=key
    )
    return answer
