"""The sender worker: every `sender_interval_s`, sends what is due (`usecases.sending`).
Business time (quiet hours, digests) comes from `rt.clock`; retry back-off from the wall."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from cobuild_notifications.adapters.channels import Sender
from cobuild_notifications.domain.kinds import Channel
from cobuild_notifications.settings import NotificationsRuntime
from cobuild_notifications.usecases import sending


def sender(
    senders: dict[Channel, Sender],
) -> Callable[[NotificationsRuntime], Awaitable[None]]:
    async def send_forever(rt: NotificationsRuntime) -> None:
        while True:
            handled = await sending.send_due(rt.pool, rt.clock, rt.settings, senders)
            if handled < rt.settings.sender_batch:  # a full round: more may be due, go again
                await asyncio.sleep(rt.settings.sender_interval_s)

    return send_forever
