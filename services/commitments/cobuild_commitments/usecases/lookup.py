"""The commitment a use case acts on: locked in a unit of work for a command, read plainly for a
query; one that does not exist is a 404 naming the path parameter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

import asyncpg
from cobuild_kit.errors import NotFound
from cobuild_kit.service import UnitOfWork

from cobuild_commitments.domain.commitment import Commitment
from cobuild_commitments.settings import CommitmentsRuntime
from cobuild_commitments.store import commitments


@asynccontextmanager
async def locked(
    rt: CommitmentsRuntime, commitment_id: UUID
) -> AsyncIterator[tuple[UnitOfWork, Commitment]]:
    async with rt.unit_of_work() as uow:
        c = await commitments.load(uow.conn, commitment_id, lock=True)
        if c is None:
            raise NotFound(f"no commitment {commitment_id}", field="path.commitment_id")
        yield uow, c


async def existing(conn: asyncpg.Connection, commitment_id: UUID) -> Commitment:
    c = await commitments.load(conn, commitment_id, lock=False)
    if c is None:
        raise NotFound(f"no commitment {commitment_id}", field="path.commitment_id")
    return c
