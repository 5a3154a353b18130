"""The sender: works the delivery table off. Each round claims one due delivery (a digest
takes the person's other due digest rows of that channel with it) with SKIP LOCKED, renders
one message, hands it to its channel and marks it sent, all in one transaction; a failure is
retried with back-off (wall clock) and finally marked failed, never dropped. In the same
transaction: a digest's items of the street's news withdrawn (or no longer visible) since are
left out and marked skipped; a capped channel counts the message against the address's day
(past the cap it waits for the next day); a WeChat message takes one of the person's consents
(none left: not attempted, marked skipped with the reason). A failed send gives both back.

A send and its mark are shielded from cancellation together: a sender stopped mid-batch
finishes the message in hand and marks it, so a restart does not send it again. (A process
killed outright between the mail server's answer and the commit would send that one message
again, with the same Message-ID: ARCHITECTURE.md, "Notifications".)"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import asyncpg
from cobuild_kit.clock import BUSINESS_TZ, Clock, business_date
from cobuild_kit.db import transaction
from cobuild_kit.logging import get_logger

from cobuild_notifications.adapters.channels import ChannelOff, Outgoing, Sender, Undeliverable
from cobuild_notifications.domain import messages
from cobuild_notifications.domain.kinds import Channel, Frequency
from cobuild_notifications.settings import NotificationsSettings
from cobuild_notifications.store import consents, deliveries, inbox, preferences, street

log = get_logger(__name__)


def _wall() -> datetime:
    return datetime.now(UTC)


async def send_due(
    pool: asyncpg.Pool,
    clock: Clock,
    settings: NotificationsSettings,
    senders: dict[Channel, Sender],
) -> int:
    """Up to `sender_batch` messages; the number handled (sent, retried or failed)."""
    handled = 0
    while handled < settings.sender_batch:
        done = await asyncio.shield(_one(pool, clock, settings, senders))
        if not done:
            break
        handled += 1
    return handled


async def _one(
    pool: asyncpg.Pool,
    clock: Clock,
    settings: NotificationsSettings,
    senders: dict[Channel, Sender],
) -> bool:
    now = clock.now()
    day = business_date(now)
    async with transaction(pool) as conn:
        claimed = await deliveries.claim(conn, now, _wall())
        if not claimed:
            return False
        stored = await inbox.many(conn, [d.notification_id for d in claimed])
        claimed = await _still_visible(conn, claimed, stored, day)
        if not claimed:  # every item of the digest was withdrawn since: nothing to send
            return True
        first = claimed[0]
        ids = [d.delivery_id for d in claimed]
        sender = senders.get(first.channel)
        if sender is None:
            error = f"the {first.channel} channel is not configured"
            await deliveries.failed(conn, ids, error)
            log.warning("delivery failed", channel=first.channel.value, error=error)
            return True
        cap = settings.per_day(first.channel.value)
        if cap is not None and not await deliveries.reserve(
            conn, first.channel, first.address, day, cap
        ):  # past the day's cap for this address: it goes when the day turns
            tomorrow = datetime.combine(day + timedelta(days=1), datetime.min.time(), BUSINESS_TZ)
            await deliveries.postpone(conn, ids, tomorrow)
            return True
        if first.channel is Channel.WECHAT and not await consents.use(conn, first.subject, now):
            await deliveries.skipped(conn, ids, NO_CONSENT)
            log.info("delivery skipped", channel=first.channel.value, reason="no consent")
            return True
        out = await _outgoing(conn, settings, claimed, stored)
        try:
            await sender.send(out)
        except Exception as e:  # every channel's error is recorded on the row
            if cap is not None:
                await deliveries.release(conn, first.channel, first.address, day)
            if first.channel is Channel.WECHAT:
                await consents.give_back(conn, first.subject)
            error = f"{type(e).__name__}: {e}"
            final = isinstance(e, ChannelOff | Undeliverable)
            if final or first.attempts + 1 >= settings.send_max_attempts:
                await deliveries.failed(conn, ids, error)
                log.warning("delivery failed", channel=first.channel.value, error=error)
            else:
                wait = settings.send_backoff_base_s * 2**first.attempts
                await deliveries.retry(conn, ids, error, _wall() + timedelta(seconds=wait))
            return True
        await deliveries.sent(conn, ids, out.message_id, now)
    return True


# Recorded on a WeChat delivery that was not attempted.
NO_CONSENT = "not sent: no WeChat subscription consent left (each consent allows one message)"


async def _still_visible(
    conn: asyncpg.Connection,
    claimed: list[deliveries.Delivery],
    stored: dict[UUID, inbox.Stored],
    day: date,
) -> list[deliveries.Delivery]:
    """The claimed deliveries whose item (the street's news) is still open and visible to the
    person; the others are marked skipped with the reason, and left out of the message."""
    kept: list[deliveries.Delivery] = []
    for d in claimed:
        n = stored.get(d.notification_id)
        why = None
        if n is not None and n.about_id is not None:
            why = await street.still_visible(conn, n.about_id, d.subject, day)
        if why is None:
            kept.append(d)
        else:
            await deliveries.skipped(conn, [d.delivery_id], why)
    return kept


async def _outgoing(
    conn: asyncpg.Connection,
    settings: NotificationsSettings,
    claimed: list[deliveries.Delivery],
    stored: dict[UUID, inbox.Stored],
) -> Outgoing:
    first = claimed[0]
    prefs, token = await preferences.load(conn, first.subject)
    lang = prefs.language
    mine = [stored[d.notification_id] for d in claimed if d.notification_id in stored]
    items = [
        messages.render(n.kind, n.params, lang, _link(settings, n.link))
        for n in sorted(mine, key=lambda n: (n.created_at, n.notification_id))
    ]
    unsubscribe = f"{settings.unsubscribe_url.rstrip('/')}/unsubscribe/{token or ''}"
    weekly = prefs.frequency is Frequency.WEEKLY
    if first.channel is Channel.EMAIL:
        m = messages.mail(items, lang, unsubscribe, weekly=weekly)
        subject, text, html = m.subject, m.text, m.html
    else:
        text = messages.short(items, lang)
        subject, html = items[0].title, ""
    return Outgoing(
        address=first.address,
        subject=subject,
        text=text,
        html=html,
        message_id=_message_id(first.delivery_id),
        unsubscribe=unsubscribe,
    )


def _link(settings: NotificationsSettings, path: str) -> str:
    return f"{settings.console_url.rstrip('/')}{path}" if path else ""


def _message_id(delivery_id: UUID) -> str:
    return f"<{delivery_id}@notifications.cobuild>"
