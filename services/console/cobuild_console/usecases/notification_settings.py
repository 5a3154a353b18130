"""The person's notification settings, kept by the notifications service (their addresses
live there and nowhere else)."""

from __future__ import annotations

from typing import Any

from cobuild_console.runtime import ConsoleRuntime

SERVICE = "notifications"
# The kinds a person may route, in the order the page shows them.
KINDS = ("reminder_due", "overdue", "done", "confirmed", "refused", "cancelled", "assigned", "proposal",
         "signed", "amended", "match", "report_accepted", "report_declined", "sign_up", "street",
         "scored", "assessment", "objection", "whistle", "followed")  # fmt: skip
OUTSIDE = ("email", "sms")


async def read(rt: ConsoleRuntime, token: str) -> dict[str, Any]:
    answer: dict[str, Any] = await rt.services.get(SERVICE, "/preferences", token)
    return answer


async def save(rt: ConsoleRuntime, token: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await rt.services.request(SERVICE, "PUT", "/preferences", token, json=body)
    answer: dict[str, Any] = response.json()
    return answer
