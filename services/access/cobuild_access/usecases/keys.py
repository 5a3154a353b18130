"""The signing keys: made at the first start, rotated when due, dropped once no token they
signed can be alive (cobuild_access.domain.keys); each replica reloads the set."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from cobuild_contracts import Role
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Forbidden
from cobuild_kit.logging import get_logger

from cobuild_access.adapters.signing import load_key, new_key
from cobuild_access.domain import keys as policy
from cobuild_access.domain.audit import AuditEntry, AuditKind
from cobuild_access.settings import AccessRuntime
from cobuild_access.store import audit as audit_store
from cobuild_access.store import keys as store
from cobuild_access.usecases.audit import by, refusals_recorded
from cobuild_access.wiring import parts_of

log = get_logger(__name__)
SYSTEM = "service:access"


async def refresh(rt: AccessRuntime, *, force_new: Actor | None = None) -> None:
    """Rotate if due (or if an operator asks, `force_new`), drop what is past its time, and
    load the set into this replica's ring. One replica decides at a time (advisory lock)."""
    ring = parts_of(rt).keys
    s = rt.settings
    async with rt.unit_of_work() as uow:
        conn = uow.conn
        await store.lock_rotation(conn)
        rows = await store.all_keys(conn)
        now = ring.now()
        times = [policy.KeyTimes(r["kid"], r["activates_at"]) for r in rows]
        gone = [k.kid for k in policy.dropped(times, now, ring.token_life)]
        if gone:
            await store.delete(conn, gone)
            log.info("keys.dropped", kids=gone)
        kept = [t for t in times if t.kid not in gone]
        ahead = timedelta(seconds=s.signing_key_publish_ahead_s)
        starts = (
            now + ahead
            if force_new is not None
            else policy.next_key_due(
                kept, now, timedelta(hours=s.signing_key_rotate_after_h), ahead
            )
        )
        if starts is not None:
            if not kept:
                starts = now  # the very first key signs at once
            key = new_key(now)
            await store.insert(
                conn,
                kid=key.kid,
                private_pem=key.private_pem,
                public_raw=key.public_raw,
                created_at=now,
                activates_at=starts,
            )
            entry = (
                by(force_new, AuditKind.KEY_ROTATED, rt)
                if force_new is not None
                else AuditEntry(kind=AuditKind.KEY_ROTATED, at=rt.clock.now(), actor=SYSTEM)
            )
            detail = f"{key.kid} signs from {starts.isoformat()}"
            await audit_store.append(conn, replace(entry, detail=detail))
            log.info("keys.created", kid=key.kid, activates_at=starts.isoformat())
        rows = await store.all_keys(conn)
    ring.install([load_key(r["kid"], r["private_pem"], r["activates_at"]) for r in rows])


async def ensure_loaded(rt: AccessRuntime) -> None:
    if not parts_of(rt).keys.loaded:
        await refresh(rt)


async def rotate(rt: AccessRuntime, actor: Actor) -> None:
    """An operator's rotation now (a key feared leaked): a new key signs after the publish
    delay; the old one stays published until its tokens have expired."""
    async with refusals_recorded(rt, actor, "rotate the signing keys"):
        if actor.role is not Role.OPERATOR:
            raise Forbidden("only an operator rotates the signing keys")
    await refresh(rt, force_new=actor)


async def keep_keys(rt: AccessRuntime) -> None:
    """The key worker: binds the ring's reload, then keeps the set current."""
    ring = parts_of(rt).keys
    ring.bind(lambda: refresh(rt))
    while True:
        try:
            await refresh(rt)
        except Exception as exc:  # the database may be away: keep the keys held, retry
            log.warning("keys.refresh_failed", error=repr(exc))
        await asyncio.sleep(rt.settings.signing_key_check_interval_s)
