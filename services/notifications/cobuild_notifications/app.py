"""The notifications service: its HTTP routers, its consumer of every producing service's
events and its sender, wired by the runtime kit."""

from __future__ import annotations

from cobuild_kit.auth import TokenVerifier
from cobuild_kit.clock import Clock
from cobuild_kit.service import ServiceDefinition, asyncapi, create_app
from fastapi import FastAPI
from faststream import FastStream

from cobuild_notifications import consumers, workers
from cobuild_notifications.adapters.channels import AppriseSender, Sender, SmtpSender
from cobuild_notifications.domain.kinds import Channel
from cobuild_notifications.http import public_routers, routers
from cobuild_notifications.settings import NotificationsSettings

DESCRIPTION = """\
Notifications: who hears of what, once. The service reads every producing service's events,
decides who is affected (the holders of a party's roles, learnt from `grant.added` and
`grant.revoked`, so a revoked grant stops notifications at once; the members assigned; the
people who follow a need, an agreement or a commitment; the subject of a score), and writes
one inbox entry per (event, person) and one delivery per channel in the same transaction as
the event's inbox row. A sender works the deliveries off (SKIP LOCKED), retries a failed send
with back-off and finally marks it failed, never dropping it.

**Channels**: the in-app inbox (`/inbox`), e-mail over SMTP (text and HTML parts, an
unsubscribe link), and SMS, WeCom, DingTalk and WeChat subscription messages through apprise,
each off unless configured, capped per address and day in the database (SMS per number), and
WeChat by the person's consents (`/wechat/consents`: each allows one message; without one a
message is not attempted and its delivery says so). **Preferences** (`/preferences`): channels
per kind, frequency (real time, daily or weekly digest, none), quiet hours in Asia/Shanghai
time (a message waits until they end), and the contact addresses the person entered, which
live here and nowhere else. Those on a digest also get the street's news: the needs and
resources new in their street that they may see, each checked again before the digest goes.
"""


def senders(s: NotificationsSettings) -> dict[Channel, Sender]:
    """The channels that can send here; the others are off (ARCHITECTURE.md)."""
    out: dict[Channel, Sender] = {}
    if s.smtp_host:
        out[Channel.EMAIL] = SmtpSender(
            host=s.smtp_host, port=s.smtp_port, sender=s.mail_from, starttls=s.smtp_starttls,
            user=s.smtp_user, password=s.smtp_password, timeout_s=s.smtp_timeout_s,
        )  # fmt: skip
    through_apprise = {
        Channel.SMS: s.sms_url, Channel.WECOM: s.wecom_url, Channel.DINGTALK: s.dingtalk_url,
        Channel.WECHAT: s.wechat_url,
    }  # fmt: skip
    for channel, url in through_apprise.items():
        if url is not None and url.get_secret_value():
            out[channel] = AppriseSender(
                channel.value, url.get_secret_value(), timeout_s=s.channel_timeout_s
            )
    return out


def definition(
    settings: NotificationsSettings | None = None,
    *,
    verifier: TokenVerifier | None = None,
    clock: Clock | None = None,
    channels: dict[Channel, Sender] | None = None,
) -> ServiceDefinition[NotificationsSettings]:
    s = settings or NotificationsSettings()
    out = senders(s) if channels is None else channels
    return ServiceDefinition(
        name="notifications",
        settings=s,
        migrations_package="cobuild_notifications",
        routers=[*routers, *public_routers],
        consumers=[consumers.consumer(frozenset(out))],
        workers=[workers.sender(out)],
        description=DESCRIPTION,
        verifier=verifier,
        clock=clock,
    )


def app() -> FastAPI:
    return create_app(definition())


def asyncapi_app() -> FastStream:
    return asyncapi(definition())
