"""The person's notifications (the notifications service's inbox, keyed by the token's
subject): a page of them, the unread count for the header, marking read."""

from __future__ import annotations

from typing import Any

from cobuild_console.gateways.services import ServiceRefusal, ServiceUnavailable
from cobuild_console.runtime import ConsoleRuntime

SERVICE = "notifications"
PAGE = 20


async def page(rt: ConsoleRuntime, token: str, *, unread: bool, offset: int, lang: str) -> Any:
    return await rt.services.get(
        SERVICE, "/inbox", token, unread=str(unread).lower(), offset=offset, limit=PAGE, lang=lang
    )


def configured(rt: ConsoleRuntime) -> bool:
    """Whether this deployment has a notifications service (it is optional)."""
    return SERVICE in rt.services.urls


async def unread_count(rt: ConsoleRuntime, token: str, *, timeout_s: float | None = None) -> int:
    """`timeout_s`: how long a page that shows the count waits for it (None: the client's)."""
    response = await rt.services.request(
        SERVICE, "GET", "/inbox/unread-count", token, timeout_s=timeout_s
    )
    return int(response.json()["unread"])


async def unread_or_none(rt: ConsoleRuntime, token: str, *, timeout_s: float) -> int | None:
    """The unread count for a page that shows it beside other things, or None: no
    notifications service here, or it did not answer within `timeout_s` (the page then shows
    no count and no error)."""
    if not configured(rt):
        return None
    try:
        return await unread_count(rt, token, timeout_s=timeout_s)
    except (ServiceUnavailable, ServiceRefusal):
        return None


async def mark_read(rt: ConsoleRuntime, token: str, notification_id: str) -> None:
    await rt.services.post(SERVICE, f"/inbox/{notification_id}/read", token, None)


async def mark_all_read(rt: ConsoleRuntime, token: str) -> int:
    answer = await rt.services.post(SERVICE, "/inbox/read-all", token, None)
    return int(answer["marked"])
