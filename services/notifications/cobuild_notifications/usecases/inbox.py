"""The person's inbox: their notifications rendered in their language, the unread count, and
marking read. A person sees only their own (by token subject)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from cobuild_kit.actor import Actor
from cobuild_kit.errors import NotFound

from cobuild_notifications.domain import messages
from cobuild_notifications.settings import NotificationsRuntime
from cobuild_notifications.store import inbox, preferences


@dataclass(frozen=True)
class Item:
    notification_id: UUID
    kind: str
    title: str
    body: str
    link: str
    created_at: datetime
    read: bool


async def page(
    rt: NotificationsRuntime, actor: Actor, *, unread_only: bool, limit: int, offset: int,
    lang: str | None,
) -> tuple[list[Item], int]:  # fmt: skip
    async with rt.pool.acquire() as conn:
        rows, total = await inbox.page(
            conn, actor.subject, unread_only=unread_only, limit=limit, offset=offset
        )
        chosen = lang or (await preferences.load(conn, actor.subject))[0].language
    items = []
    for n in rows:
        r = messages.render(n.kind, n.params, chosen)
        items.append(
            Item(
                n.notification_id,
                n.kind,
                r.title,
                r.body,
                n.link,
                n.created_at,
                n.read_at is not None,
            )
        )
    return items, total


async def unread(rt: NotificationsRuntime, actor: Actor) -> int:
    async with rt.pool.acquire() as conn:
        return await inbox.unread(conn, actor.subject)


async def mark_read(rt: NotificationsRuntime, actor: Actor, notification_id: UUID) -> None:
    async with rt.unit_of_work() as uow:
        if not await inbox.mark_read(uow.conn, actor.subject, notification_id, rt.clock.now()):
            raise NotFound("no such notification in your inbox")


async def mark_all_read(rt: NotificationsRuntime, actor: Actor) -> int:
    async with rt.unit_of_work() as uow:
        return await inbox.mark_all_read(uow.conn, actor.subject, rt.clock.now())
