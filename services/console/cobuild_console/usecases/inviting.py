"""Invitations an administrator issues from the workbench: to the roles the delegation rules
let them grant (the access service decides; the page offers what it would allow), and the
members' invitations a unit's registration issued, whose link the admin hands on.

A link is shown once: the access service keeps only its hash, so a new link (renew) is the
way to show one again, and the old one stops working."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cobuild_console.runtime import ConsoleRuntime

# The acting role → the roles it may invite to, with the kind of party each is held for (the
# access service's delegation rules; it refuses anything else with the reason).
OFFERS: dict[str, tuple[tuple[str, str], ...]] = {
    "district_admin": (("street_admin", "street"), ("unit_admin", "unit")),
    "street_admin": (("community_admin", "community"),),
    "community_admin": (("community_admin", "community"),),
}


@dataclass(frozen=True)
class Issued:
    """An invitation just issued or renewed, with its link (shown this once)."""

    invitation: dict[str, Any]
    link: str


async def listed(rt: ConsoleRuntime, token: str) -> list[dict[str, Any]]:
    page: dict[str, Any] = await rt.services.get("access", "/invitations", token, limit=100)
    items: list[dict[str, Any]] = page["items"]
    return items


async def parties(rt: ConsoleRuntime, token: str, role: str, party_id: str) -> list[dict[str, Any]]:
    """The parties the acting admin may invite for: the streets and units of a district, the
    communities of a street, a community worker's own community."""
    if role == "community_admin":
        return [await rt.services.get("agreements", f"/parties/{party_id}", token)]
    found: list[dict[str, Any]] = []
    for _, kind in OFFERS.get(role, ()):
        found += await rt.services.every(
            "agreements", "/parties", token, {"parent_id": party_id, "kind": kind}
        )
    return found


async def invite(
    rt: ConsoleRuntime, token: str, role: str, party_id: str, email: str | None, key: str
) -> Issued:
    body = {"role": role, "party_id": party_id, "email": email or None}
    answer: dict[str, Any] = await rt.services.post(
        "access", "/invitations", token, body, idempotency_key=key
    )
    return Issued(answer, str(answer["link"]))


async def renew(rt: ConsoleRuntime, token: str, invitation_id: str, key: str) -> Issued:
    answer: dict[str, Any] = await rt.services.post(
        "access", f"/invitations/{invitation_id}/renew", token, None, idempotency_key=key
    )
    return Issued(answer, str(answer["link"]))


async def withdraw(rt: ConsoleRuntime, token: str, invitation_id: str) -> None:
    await rt.services.request("access", "DELETE", f"/invitations/{invitation_id}", token)
