"""Settings of the notifications service (environment prefix COBUILD_NOTIFICATIONS_), and the
runtime typed by them."""

from __future__ import annotations

from typing import Annotated

from cobuild_kit.service import Runtime, get_runtime
from cobuild_kit.settings import ServiceSettings, service_config
from fastapi import Depends

DEFAULT_PORT = 8107


class NotificationsSettings(ServiceSettings):
    model_config = service_config("notifications")
    port: int = DEFAULT_PORT

    # Links in messages: the workbench's public address (never 127.0.0.1 on a phone in
    # production: the launcher passes --public-url), and where the unsubscribe link points
    # (this service's public address; `GET /unsubscribe/{token}` answers a one-button page).
    console_url: str = "http://127.0.0.1:8100"
    unsubscribe_url: str = "http://127.0.0.1:8107"

    # E-mail over SMTP; no host, no e-mail channel (nothing is queued for it).
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_timeout_s: float = 10.0
    mail_from: str = "Cobuild <notifications@cobuild.invalid>"

    # SMS, WeCom and DingTalk: off unless a gateway is configured (no adapter ships yet:
    # ARCHITECTURE.md, "Notifications"). SMS carriers cap messages per number per day.
    sms_per_number_per_day: int = 5

    # The sender: how often it looks for due deliveries, how many it sends per round, and
    # how a failed send is retried (base * 2^attempt seconds of wall clock) before it is
    # marked failed.
    sender_interval_s: float = 1.0
    sender_batch: int = 50
    send_max_attempts: int = 5
    send_backoff_base_s: float = 2.0


NotificationsRuntime = Runtime[NotificationsSettings]
RuntimeDep = Annotated[NotificationsRuntime, Depends(get_runtime)]
