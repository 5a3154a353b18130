"""The sender: works the delivery table off. Each round claims one due delivery (a digest
takes the person's other due digest rows of that channel with it) with SKIP LOCKED, renders
one message, hands it to its channel and marks it sent, all in one transaction; a failure is
retried with back-off (wall clock) and finally marked failed, never dropped.

A send and its mark are shielded from cancellation together: a sender stopped mid-batch
finishes the message in hand and marks it, so a restart does not send it again. (A process
killed outright between the mail server's answer and the commit would send that one message
again, with the same Message-ID: ARCHITECTURE.md, "Notifications".)"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
from cobuild_kit.clock import BUSINESS_TZ, Clock, business_date
from cobuild_kit.db import transaction
from cobuild_kit.logging import get_logger

from cobuild_notifications.adapters.channels import ChannelOff, Outgoing, Sender
from cobuild_notifications.domain import messages
from cobuild_notifications.domain.kinds import Channel, Frequency
from cobuild_notifications.settings import NotificationsSettings
from cobuild_notifications.store import deliveries, inbox, preferences

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
    async with transaction(pool) as conn:
        claimed = await deliveries.claim(conn, now, _wall())
        if not claimed:
            return False
        first = claimed[0]
        ids = [d.delivery_id for d in claimed]
        if first.channel is Channel.SMS and not await _within_limit(conn, settings, first, now):
            tomorrow = datetime.combine(
                business_date(now) + timedelta(days=1), datetime.min.time(), BUSINESS_TZ
            )
            await deliveries.postpone(conn, ids, tomorrow)
            return True
        out = await _outgoing(conn, settings, claimed)
        sender = senders.get(first.channel)
        try:
            if sender is None:
                raise ChannelOff(f"the {first.channel} channel is not configured")
            await sender.send(out)
        except ChannelOff as e:
            await deliveries.failed(conn, ids, str(e))
            log.warning("delivery failed", channel=first.channel.value, error=str(e))
            return True
        except Exception as e:  # the channel's own errors: retry, then fail
            error = f"{type(e).__name__}: {e}"
            if first.attempts + 1 >= settings.send_max_attempts:
                await deliveries.failed(conn, ids, error)
                log.warning("delivery failed", channel=first.channel.value, error=error)
            else:
                wait = settings.send_backoff_base_s * 2**first.attempts
                await deliveries.retry(conn, ids, error, _wall() + timedelta(seconds=wait))
            return True
        await deliveries.sent(conn, ids, out.message_id, now)
        if first.channel is Channel.SMS:
            await deliveries.count_one(conn, first.channel, first.address, business_date(now))
    return True


async def _within_limit(
    conn: asyncpg.Connection, settings: NotificationsSettings, d: deliveries.Delivery,
    now: datetime,
) -> bool:  # fmt: skip
    sent = await deliveries.count_sent(conn, d.channel, d.address, business_date(now))
    return sent < settings.sms_per_number_per_day


async def _outgoing(
    conn: asyncpg.Connection, settings: NotificationsSettings, claimed: list[deliveries.Delivery]
) -> Outgoing:
    first = claimed[0]
    stored = await inbox.many(conn, [d.notification_id for d in claimed])
    prefs, token = await preferences.load(conn, first.subject)
    lang = prefs.language
    items = [
        messages.render(n.kind, n.params, lang, _link(settings, n.link))
        for n in sorted(stored.values(), key=lambda n: (n.created_at, n.notification_id))
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
