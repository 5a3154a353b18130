"""The whistle a use case acts on: locked in a unit of work for a command, read plainly for a
query; one that does not exist is a 404 naming the path parameter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

import asyncpg
from cobuild_kit.errors import NotFound
from cobuild_kit.service import UnitOfWork

from cobuild_escalations.domain.whistle import Whistle
from cobuild_escalations.settings import EscalationsRuntime
from cobuild_escalations.store import whistles


@asynccontextmanager
async def locked(
    rt: EscalationsRuntime, whistle_id: UUID
) -> AsyncIterator[tuple[UnitOfWork, Whistle]]:
    async with rt.unit_of_work() as uow:
        w = await whistles.load(uow.conn, whistle_id, lock=True)
        if w is None:
            raise NotFound(f"no whistle {whistle_id}", field="path.whistle_id")
        yield uow, w


async def existing(conn: asyncpg.Connection, whistle_id: UUID) -> Whistle:
    w = await whistles.load(conn, whistle_id, lock=False)
    if w is None:
        raise NotFound(f"no whistle {whistle_id}", field="path.whistle_id")
    return w
