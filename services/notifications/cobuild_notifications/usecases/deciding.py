"""From a decision to rows: the audiences become subjects (grants learnt from grant.*, so a
revoked grant is no longer asked), each gets one inbox row per event, and one delivery per
channel they want, due now, after their quiet hours, or at their digest's time. All in the
consumer's transaction with the kit's inbox row: a redelivered event writes nothing."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID, uuid5

import asyncpg

from cobuild_notifications.domain.audience import (
    Decision,
    Followers,
    Members,
    PartyRoles,
    Subjects,
)
from cobuild_notifications.domain.kinds import Channel, Kind
from cobuild_notifications.store import deliveries, directory, follows, inbox, preferences

# Ids derived from the event and the recipient: a replay decides the same rows.
_NS = UUID("4f1c7a52-9d36-4d8e-a8a5-0c6f3b2e7d10")


async def recipients(conn: asyncpg.Connection, decision: Decision) -> list[str]:
    found: list[str] = []
    for a in decision.audiences:
        if isinstance(a, PartyRoles):
            found += await directory.holders(conn, a.party_id, a.roles)
        elif isinstance(a, Members):
            found += await directory.member_subjects(conn, a.member_ids)
        elif isinstance(a, Subjects):
            found += list(a.subjects)
        elif isinstance(a, Followers):
            found += await follows.followers(conn, [(a.target_kind, a.target_id)])
    return list(dict.fromkeys(found))


async def notify(
    conn: asyncpg.Connection,
    event_id: UUID,
    decision: Decision,
    at: datetime,
    channels: Iterable[Channel],
) -> int:
    """Write the decision's notifications and deliveries; the number of people notified."""
    configured = frozenset(channels)
    direct = await recipients(conn, decision)
    following = await follows.followers(
        conn, [(f.target_kind, f.target_id) for f in decision.followers]
    )
    told = [(s, decision.kind, decision.params) for s in direct]
    changed = {**decision.params, "of": decision.kind}
    told += [(s, Kind.FOLLOWED.value, changed) for s in following if s not in set(direct)]
    if not told:
        return 0
    prefs = await preferences.load_many(conn, [s for s, _, _ in told])
    if decision.digest_only:  # the street's news: for those on a daily or weekly digest
        told = [t for t in told if prefs[t[0]].digests]
    about_kind, about_id = decision.about or (None, None)
    n = 0
    for subject, kind, params in told:
        notification_id = uuid5(_NS, f"{event_id}:{subject}")
        added = await inbox.add(
            conn,
            inbox.Stored(
                notification_id, event_id, subject, str(kind), dict(params), decision.link, at,
                None, about_kind, about_id,
            ),
        )  # fmt: skip
        if not added:
            continue
        n += 1
        p = prefs[subject]
        for channel in p.wanted(str(kind)):
            if channel not in configured:
                continue
            due_at, digest = p.due(at)
            await deliveries.add(
                conn,
                deliveries.Delivery(
                    delivery_id=uuid5(_NS, f"{notification_id}:{channel.value}"),
                    notification_id=notification_id,
                    subject=subject,
                    channel=channel,
                    address=p.addresses[channel],
                    digest=digest,
                    due_at=due_at,
                    attempts=0,
                ),
            )
    return n
