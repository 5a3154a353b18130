"""Follow and unfollow a need, an agreement or a commitment: its changes then reach the
person's inbox (and their channels), as FOLLOWED notifications."""

from __future__ import annotations

from uuid import UUID

import asyncpg
from cobuild_kit.actor import Actor

from cobuild_notifications.settings import NotificationsRuntime
from cobuild_notifications.store import follows

TARGETS = ("need", "agreement", "commitment")


async def follow(rt: NotificationsRuntime, actor: Actor, kind: str, target: UUID) -> bool:
    async with rt.unit_of_work() as uow:
        return await follows.follow(uow.conn, actor.subject, kind, target, rt.clock.now())


async def unfollow(rt: NotificationsRuntime, actor: Actor, kind: str, target: UUID) -> bool:
    async with rt.unit_of_work() as uow:
        return await follows.unfollow(uow.conn, actor.subject, kind, target)


async def is_following(rt: NotificationsRuntime, actor: Actor, kind: str, target: UUID) -> bool:
    async with rt.pool.acquire() as conn:
        return await follows.is_following(conn, actor.subject, kind, target)


async def following(rt: NotificationsRuntime, actor: Actor) -> list[asyncpg.Record]:
    async with rt.pool.acquire() as conn:
        return await follows.of_subject(conn, actor.subject)
