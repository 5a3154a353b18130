"""The channels outside the app, each behind one small interface: `send(outgoing)` hands one
message to the channel or raises (the sender retries with back-off, then marks it failed).

E-mail goes over SMTP (in development the launcher's mail catcher), with a text and an HTML
part, a List-Unsubscribe header and a Message-ID fixed by the delivery, so a receiver can tell
a repeat. SMS, WeCom, DingTalk and WeChat subscription messages go through `apprise`, each to
an apprise URL the operator configures with `{address}` where the person's number or id goes
(`wechat://corp:secret@agent/@{address}` for a WeCom application, `dingtalk://token/{address}/`
for a DingTalk robot, `json://gateway/sms?:to={address}` for an SMS gateway of one's own); a
channel without a URL is off, and no delivery is written for it (ARCHITECTURE.md,
"Notifications")."""

from __future__ import annotations

import asyncio
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol
from urllib.parse import quote

import apprise


@dataclass(frozen=True)
class Outgoing:
    address: str
    subject: str
    text: str
    html: str
    message_id: str
    unsubscribe: str


class ChannelOff(Exception):
    """The channel is not configured here."""


class Refused(Exception):
    """The channel's gateway did not take the message this time: retried with back-off."""


class Undeliverable(Exception):
    """This message can never go this way (an address the channel cannot take): marked
    failed at once, not retried."""


class Sender(Protocol):
    async def send(self, out: Outgoing) -> None:
        """Hand the message over; raise (OSError, smtplib.SMTPException, Refused: retried;
        ChannelOff, Undeliverable: failed at once)."""
        ...


class SmtpSender:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        starttls: bool = False,
        user: str | None = None,
        password: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self._host, self._port, self._sender = host, port, sender
        self._starttls, self._user, self._password = starttls, user, password
        self._timeout_s = timeout_s

    async def send(self, out: Outgoing) -> None:
        # smtplib in a thread: the event loop never waits on a mail server.
        await asyncio.to_thread(self._send, out)

    def message(self, out: Outgoing) -> EmailMessage:
        m = EmailMessage()
        m["From"] = self._sender
        m["To"] = out.address
        m["Subject"] = out.subject
        m["Date"] = formatdate(localtime=False)
        m["Message-ID"] = out.message_id
        m["List-Unsubscribe"] = f"<{out.unsubscribe}>"
        m["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        m.set_content(out.text)
        m.add_alternative(out.html, subtype="html")
        return m

    def _send(self, out: Outgoing) -> None:
        with smtplib.SMTP(self._host, self._port, timeout=self._timeout_s) as smtp:
            if self._starttls:
                smtp.starttls()
            if self._user and self._password:
                smtp.login(self._user, self._password)
            smtp.send_message(self.message(out))


class Unconfigured:
    """A channel with no gateway configured: refuses every message."""

    def __init__(self, name: str) -> None:
        self._name = name

    async def send(self, out: Outgoing) -> None:
        raise ChannelOff(f"the {self._name} channel is not configured")


class AppriseSender:
    """A channel through apprise: the configured URL with the person's address in it. Apprise
    reports a refusal as a failed result (its plugins log, not raise): that is raised here
    with apprise's words, so the sender retries with back-off, then marks it failed."""

    def __init__(self, name: str, url: str, *, timeout_s: float = 10.0) -> None:
        if "{address}" not in url:
            raise ValueError(f"the {name} URL must name {{address}}")
        self._name, self._url, self._timeout_s = name, url, timeout_s

    def url_for(self, address: str) -> str:
        return self._url.replace("{address}", quote(address, safe="@"))

    async def send(self, out: Outgoing) -> None:
        # apprise's plugins are blocking (requests): in a thread, as smtplib is.
        await asyncio.to_thread(self._send, out)

    def _send(self, out: Outgoing) -> None:
        hub = apprise.Apprise()
        if not hub.add(self.url_for(out.address)):
            raise Undeliverable(f"{self._name}: apprise takes no URL for address {out.address!r}")
        result = hub.notify(body=out.text, title=out.subject, timeout=self._timeout_s)
        if not result:
            said = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR")]
            raise Refused(f"{self._name}: {'; '.join(said) or result.status.name}")
