"""The channels outside the app, each behind one small interface: `send(outgoing)` hands one
message to the channel or raises (the sender retries with back-off, then marks it failed).

E-mail goes over SMTP (in development the launcher's mail catcher), with a text and an HTML
part, a List-Unsubscribe header and a Message-ID fixed by the delivery, so a receiver can tell
a repeat. SMS, WeCom and DingTalk are off unless configured: `Unconfigured` refuses, so the
sender never writes deliveries for them (ARCHITECTURE.md, "Notifications")."""

from __future__ import annotations

import asyncio
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol


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


class Sender(Protocol):
    async def send(self, out: Outgoing) -> None:
        """Hand the message over; raise OSError, smtplib.SMTPException or ChannelOff."""
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
