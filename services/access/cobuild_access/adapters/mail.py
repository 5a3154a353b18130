"""Mail out (invitations): SMTP from the settings; in development the launcher's catcher.

Sent from a worker thread (smtplib), so the event loop never waits on a mail server."""

from __future__ import annotations

import asyncio
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None:
        """Raises OSError or smtplib.SMTPException when the mail could not be handed over."""
        ...


class SmtpMailer:
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

    async def send(self, mail: Mail) -> None:
        await asyncio.to_thread(self._send, mail)

    def _send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.text)
        with smtplib.SMTP(self._host, self._port, timeout=self._timeout_s) as smtp:
            if self._starttls:
                smtp.starttls()
            if self._user and self._password:
                smtp.login(self._user, self._password)
            smtp.send_message(message)


class NoMail:
    """No SMTP host configured: nothing is mailed (the admin hands the link or QR code on)."""

    async def send(self, mail: Mail) -> None:
        raise OSError("no SMTP host is configured (COBUILD_ACCESS_SMTP_HOST)")
