"""The person's notifications (the notifications service's inbox, keyed by the token's
subject): a page of them, the unread count for the header, marking read."""

from __future__ import annotations

from typing import Any

from cobuild_console.runtime import ConsoleRuntime

SERVICE = "notifications"
PAGE = 20


async def page(rt: ConsoleRuntime, token: str, *, unread: bool, offset: int, lang: str) -> Any:
    return await rt.services.get(
        SERVICE, "/inbox", token, unread=str(unread).lower(), offset=offset, limit=PAGE, lang=lang
    )


async def unread_count(rt: ConsoleRuntime, token: str) -> int:
    answer = await rt.services.get(SERVICE, "/inbox/unread-count", token)
    return int(answer["unread"])


async def mark_read(rt: ConsoleRuntime, token: str, notification_id: str) -> None:
    await rt.services.post(SERVICE, f"/inbox/{notification_id}/read", token, None)


async def mark_all_read(rt: ConsoleRuntime, token: str) -> int:
    answer = await rt.services.post(SERVICE, "/inbox/read-all", token, None)
    return int(answer["marked"])
