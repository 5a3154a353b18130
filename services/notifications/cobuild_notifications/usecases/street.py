"""The street's news (a daily or weekly digest of the needs and resources new in one's
street): while anyone is on a digest, a need or resource is recorded as its versions arrive;
its first version is told, in the consumer's transaction, to those who may see it and chose a
digest; a withdrawal or a claim closes it, and the sender leaves a closed (or no longer visible) item out of a digest
that has not gone yet (`sending`)."""

from __future__ import annotations

from datetime import datetime

import asyncpg
from cobuild_kit.pending import Awaiting

from cobuild_notifications.domain import decisions
from cobuild_notifications.domain.audience import Decision
from cobuild_notifications.store import preferences, street


async def published(
    conn: asyncpg.Connection, item: street.Item, link: str, at: datetime
) -> Decision | None:
    """Record the version; for a new item, who hears of it. While nobody is on a digest (the
    common case) nothing is recorded: one query. A revision is never news, even when its
    first version went unrecorded."""
    if not await preferences.anyone_digesting(conn):
        return None
    missing = await street.unknown_parties(conn, item)
    if missing:  # the party's event travels on another key: wait for it
        raise Awaiting("party", missing[0], "party.registered not seen yet")
    if not await street.published(conn, item, at) or item.version != 1:
        return None
    who = await preferences.digesting(conn, await street.audience(conn, item))
    if not who:
        return None
    place = await street.place_name(conn, item.party_id)
    return decisions.street_news(item.item_kind, item.item_id, item.title, place, tuple(who), link)
