"""Background loops: the signing keys (made, rotated, dropped, reloaded), and the purge of
what personal data must not outlive (invitees' addresses past expiry, old sign-in marks)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from cobuild_kit.logging import get_logger

from cobuild_access.settings import AccessRuntime
from cobuild_access.store import audit
from cobuild_access.usecases import invitations
from cobuild_access.usecases.keys import keep_keys

log = get_logger(__name__)


async def purge_forever(rt: AccessRuntime) -> None:
    while True:
        try:
            purged = await invitations.purge_addresses(rt)
            if purged:
                log.info("invitations.addresses_purged", count=purged)
            async with rt.unit_of_work() as uow:
                kept = timedelta(hours=rt.settings.sign_in_marks_kept_h)
                await audit.forget_sign_ins(uow.conn, rt.clock.now() - kept)
        except Exception as exc:  # the database may be away: next time
            log.warning("purge.failed", error=repr(exc))
        await asyncio.sleep(rt.settings.invitation_purge_interval_s)


ALL = [keep_keys, purge_forever]
