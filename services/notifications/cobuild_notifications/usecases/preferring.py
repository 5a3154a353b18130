"""A person's notification settings: read and replace them (addresses included: they live
here only), and the unsubscribe link's effect."""

from __future__ import annotations

import secrets

from cobuild_kit.actor import Actor
from cobuild_kit.errors import NotFound

from cobuild_notifications.domain.preferences import Preferences
from cobuild_notifications.settings import NotificationsRuntime
from cobuild_notifications.store import preferences


async def read(rt: NotificationsRuntime, actor: Actor) -> Preferences:
    async with rt.pool.acquire() as conn:
        return (await preferences.load(conn, actor.subject))[0]


async def replace(rt: NotificationsRuntime, p: Preferences) -> Preferences:
    async with rt.unit_of_work() as uow:
        token = await preferences.token_of(uow.conn, p.subject) or secrets.token_urlsafe(24)
        await preferences.save(uow.conn, p, token, rt.clock.now())
    return p


async def unsubscribe(rt: NotificationsRuntime, token: str) -> None:
    async with rt.unit_of_work() as uow:
        if not await preferences.unsubscribe(uow.conn, token, rt.clock.now()):
            raise NotFound("no such unsubscribe link")
