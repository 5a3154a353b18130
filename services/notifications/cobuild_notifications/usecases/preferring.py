"""A person's notification settings: read and replace them (addresses included: they live
here only), the unsubscribe link's effect, and the WeChat consents they give."""

from __future__ import annotations

import secrets

from cobuild_kit.actor import Actor
from cobuild_kit.errors import Conflict, NotFound

from cobuild_notifications.domain.preferences import Preferences
from cobuild_notifications.settings import NotificationsRuntime
from cobuild_notifications.store import consents, preferences


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


async def consent_to_wechat(rt: NotificationsRuntime, actor: Actor) -> int:
    async with rt.unit_of_work() as uow:
        balance = await consents.grant(uow.conn, actor.subject, rt.clock.now())
    if balance is None:
        raise Conflict(f"{consents.MAX_BALANCE} WeChat messages are allowed already, unused")
    return balance


async def wechat_consents(rt: NotificationsRuntime, actor: Actor) -> int:
    async with rt.pool.acquire() as conn:
        return await consents.balance(conn, actor.subject)
