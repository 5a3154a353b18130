"""Revoked grants: every service refuses the tokens of a revoked grant within seconds of
`grant.revoked`, not at their expiry (ARCHITECTURE.md, "Tokens").

The kit adds one consumer group to every service, `<service>.access`, which records each
`grant.revoked` in the kit's `revoked_grants` table (inbox and all, like any consumer). Each
replica reloads the set of revoked grant ids from that table every
`revocation_refresh_interval_s` (1 s), so every replica sees a revocation that any one of
them consumed, and the request path asks the set in memory: no database round trip per
request. Tokens without a grant (`person` tokens, `cobuild token`) are not affected.

A grant's tokens live at most `jwt_max_lifetime_s` and the access service issues none once
the grant is revoked, so the set holds the grants revoked within that time (plus the clock
skew allowed); older rows stay in the table, for the record.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg
from cobuild_contracts import topics
from cobuild_contracts.events.access import GrantRevoked

from cobuild_kit.auth import CLOCK_SKEW_S
from cobuild_kit.consumer import ConsumerSpec, EventContext
from cobuild_kit.logging import get_logger

if TYPE_CHECKING:
    from cobuild_kit.service import Runtime

log = get_logger(__name__)

PURPOSE = "access"  # the group `<service>.access`

_RECORD = """
INSERT INTO revoked_grants (grant_id, subject, revoked_at, event_id)
VALUES ($1, $2, $3, $4)
ON CONFLICT (grant_id) DO NOTHING
"""

_LOAD = "SELECT grant_id FROM revoked_grants WHERE recorded_at > now() - $1::interval"


class RevokedGrants:
    """The revoked grant ids one replica refuses, replaced whole on each reload."""

    def __init__(self) -> None:
        self._ids: frozenset[UUID] = frozenset()
        self.loaded_at: float | None = None  # monotonic; None until the first load

    def __contains__(self, grant_id: object) -> bool:
        return grant_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    async def load(self, conn: asyncpg.Connection, keep: timedelta) -> None:
        """The grants recorded as revoked within `keep`."""
        self.replace({r["grant_id"] for r in await conn.fetch(_LOAD, keep)})

    def replace(self, ids: set[UUID]) -> None:
        if new := ids - self._ids:
            log.info("grants.revoked_loaded", grant_ids=sorted(str(i) for i in new))
        self._ids = frozenset(ids)
        self.loaded_at = time.monotonic()


def revocations_consumer() -> ConsumerSpec:
    """The kit's consumer of the access topic: records each `grant.revoked`. Prompt: the
    refusal of a revoked grant's tokens waits on it."""
    spec = ConsumerSpec(purpose=PURPOSE, topics=[topics.ACCESS])

    @spec.on(GrantRevoked)
    async def on_revoked(ctx: EventContext, event: GrantRevoked) -> None:
        await ctx.conn.execute(
            _RECORD, event.grant_id, event.subject, event.revoked_at, ctx.envelope.event_id
        )
        log.info("grant.revoked", grant_id=str(event.grant_id), reason=event.reason)

    return spec


def kept_for(max_lifetime_s: int) -> timedelta:
    """How long a revoked grant can still have a live token: the longest token life, plus the
    clock skew allowed between issuer and service."""
    return timedelta(seconds=max_lifetime_s + CLOCK_SKEW_S)


async def refresh_forever(rt: Runtime[Any]) -> None:
    """The kit's worker `revocations`: reload the set every `revocation_refresh_interval_s`.
    A failed reload keeps the set as it was and tries again at the next tick."""
    keep = kept_for(rt.settings.jwt_max_lifetime_s)
    while True:
        await asyncio.sleep(rt.settings.revocation_refresh_interval_s)
        try:
            async with rt.pool.acquire() as conn:
                await rt.revoked.load(conn, keep)
        except Exception as exc:  # the database may be away: keep the last set
            log.warning("grants.revoked_reload_failed", error=repr(exc), held=len(rt.revoked))
