"""Settings of the notifications service (environment prefix COBUILD_NOTIFICATIONS_), and the
runtime typed by them."""

from __future__ import annotations

from typing import Annotated

from cobuild_kit.service import Runtime, get_runtime
from cobuild_kit.settings import ServiceSettings, service_config
from fastapi import Depends
from pydantic import Field, SecretStr

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

    # SMS, WeCom, DingTalk and WeChat subscription messages go through apprise, each to an
    # apprise URL with `{address}` where the person's number or id goes (the URL holds the
    # gateway's keys: a secret); a channel without one is off and nothing is queued for it.
    sms_url: SecretStr | None = None  # e.g. json://sms-gateway.internal/send?:to={address}
    wecom_url: SecretStr | None = None  # e.g. wechat://corpid:secret@agentid/@{address}
    dingtalk_url: SecretStr | None = None  # e.g. dingtalk://token/{address}/
    wechat_url: SecretStr | None = None  # a gateway to WeChat subscription messages
    channel_timeout_s: float = 10.0
    # Caps per address and business day, counted in the database in the send's transaction
    # (two senders cannot both pass one): carriers cap SMS per number per day; WeCom and
    # DingTalk limit what an application or robot sends. Past a cap a message waits for the
    # next day. WeChat subscription messages are capped by each person's consents instead.
    sms_per_number_per_day: int = Field(default=5, ge=1)
    wecom_per_address_per_day: int = Field(default=50, ge=1)
    dingtalk_per_address_per_day: int = Field(default=50, ge=1)

    # The sender: how often it looks for due deliveries, how many it sends per round, and
    # how a failed send is retried (base * 2^attempt seconds of wall clock) before it is
    # marked failed.
    sender_interval_s: float = 1.0
    sender_batch: int = 50
    send_max_attempts: int = 5
    send_backoff_base_s: float = 2.0


    def per_day(self, channel: str) -> int | None:
        """The cap per address and business day of a channel (None: uncapped)."""
        return {
            "sms": self.sms_per_number_per_day,
            "wecom": self.wecom_per_address_per_day,
            "dingtalk": self.dingtalk_per_address_per_day,
        }.get(channel)


NotificationsRuntime = Runtime[NotificationsSettings]
RuntimeDep = Annotated[NotificationsRuntime, Depends(get_runtime)]
