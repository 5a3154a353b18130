"""The embedded mail catcher: an SMTP server (aiosmtpd) and an SMPP receiver on loopback that
deliver nothing and append every message to one JSON-lines log under var/, where a developer
or a test reads the one-time codes and invitations the provider sent.

SMPP is there because Canaille sends SMS only through an SMPP gateway (its `sms` extra): the
catcher answers the few PDUs a sending client uses (bind, submit_sm, enquire_link, unbind),
so an SMS code lands in the same log as the mails, with `channel` "sms".

Run as its own process by the launcher: `python -m cobuild_stack.mailcatcher --log PATH
--smtp-port N --smpp-port M`. Readers use `read_messages` and `wait_for_message`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email
import email.policy
import itertools
import json
import signal
import struct
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from .discovery import MailInfo
from .errors import StackError
from .ports import LOOPBACK, free_port, wait_for_port
from .procs import die_with_parent, terminate

# -- the log ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CaughtMessage:
    """One line of the catcher's log."""

    channel: str  # "email" or "sms"
    received_at: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    html: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CaughtMessage:
        return cls(
            channel=str(data["channel"]),
            received_at=str(data["received_at"]),
            sender=str(data.get("sender", "")),
            recipients=tuple(str(r) for r in data.get("recipients", ())),
            subject=str(data.get("subject", "")),
            text=str(data.get("text", "")),
            html=str(data.get("html", "")),
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "channel": self.channel,
                "received_at": self.received_at,
                "sender": self.sender,
                "recipients": list(self.recipients),
                "subject": self.subject,
                "text": self.text,
                "html": self.html,
            },
            ensure_ascii=False,
        )


class MessageLog:
    """Appends whole lines: a reader polling the file never sees half a message."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)

    def append(self, message: CaughtMessage) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            out.write(message.to_json() + "\n")


def read_messages(path: Path) -> list[CaughtMessage]:
    """Every message caught so far (none if the log does not exist yet)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [CaughtMessage.from_json(json.loads(line)) for line in lines if line.strip()]


async def wait_for_message(
    path: Path,
    match: Callable[[CaughtMessage], bool],
    timeout_s: float = 10.0,
    *,
    after: int = 0,
) -> CaughtMessage:
    """The first message (from index `after` on) that `match` accepts; TimeoutError if none
    arrives in time. Pass `after=len(read_messages(path))` to wait only for new ones."""
    deadline = time.monotonic() + timeout_s
    while True:
        for message in read_messages(path)[after:]:
            if match(message):
                return message
        if time.monotonic() > deadline:
            raise TimeoutError(f"no matching message in {path} after {timeout_s:g}s")
        await asyncio.sleep(0.05)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


# -- SMTP ------------------------------------------------------------------------------


def _parts(message: EmailMessage) -> tuple[str, str]:
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    text = text_part.get_content() if text_part is not None else ""
    html = html_part.get_content() if html_part is not None else ""
    return str(text), str(html)


class SmtpCatcher:
    """aiosmtpd handler: every accepted DATA becomes one log line."""

    def __init__(self, log: MessageLog) -> None:
        self.log = log

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        text, html = _parts(parsed)
        sender = str(parsed.get("From", "")) or envelope.mail_from or ""
        self.log.append(
            CaughtMessage(
                channel="email",
                received_at=_now(),
                sender=sender,
                recipients=tuple(envelope.rcpt_tos),
                subject=str(parsed.get("Subject", "")),
                text=text,
                html=html,
            )
        )
        return "250 Message accepted for delivery"


# -- SMPP (v3.4, the sending side only) --------------------------------------------------

GENERIC_NACK = 0x80000000
BIND_RECEIVER = 0x00000001
BIND_TRANSMITTER = 0x00000002
SUBMIT_SM = 0x00000004
UNBIND = 0x00000006
BIND_TRANSCEIVER = 0x00000009
ENQUIRE_LINK = 0x00000015
RESPONSE = 0x80000000
STATUS_OK = 0x00000000
STATUS_INVALID_COMMAND = 0x00000003
STATUS_SYSTEM_ERROR = 0x00000008
MESSAGE_PAYLOAD_TAG = 0x0424
UCS2 = 0x08
HEADER = struct.Struct(">IIII")


class _Reader:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.at = 0

    def cstring(self) -> bytes:
        end = self.body.index(b"\0", self.at)
        value = self.body[self.at : end]
        self.at = end + 1
        return value

    def byte(self) -> int:
        value = self.body[self.at]
        self.at += 1
        return value

    def take(self, n: int) -> bytes:
        value = self.body[self.at : self.at + n]
        self.at += n
        return value


@dataclass(frozen=True)
class ShortMessage:
    source: str
    destination: str
    text: str


def parse_submit_sm(body: bytes) -> ShortMessage:
    """The addresses and text of a submit_sm body (the text from message_payload if the
    short_message field is empty, as senders do for long texts)."""
    r = _Reader(body)
    r.cstring()  # service_type
    r.take(2)  # source_addr_ton, source_addr_npi
    source = r.cstring()
    r.take(2)  # dest_addr_ton, dest_addr_npi
    destination = r.cstring()
    r.take(3)  # esm_class, protocol_id, priority_flag
    r.cstring()  # schedule_delivery_time
    r.cstring()  # validity_period
    r.take(2)  # registered_delivery, replace_if_present_flag
    data_coding = r.byte()
    r.byte()  # sm_default_msg_id
    payload = r.take(r.byte())
    while r.at + 4 <= len(body):
        tag, length = struct.unpack(">HH", r.take(4))
        value = r.take(length)
        if tag == MESSAGE_PAYLOAD_TAG and not payload:
            payload = value
    return ShortMessage(
        source.decode(errors="replace"),
        destination.decode(errors="replace"),
        _decode_text(payload, data_coding),
    )


def _decode_text(payload: bytes, data_coding: int) -> str:
    if data_coding == UCS2:
        return payload.decode("utf-16-be", errors="replace")
    try:  # Canaille sends UTF-8 bytes under the default coding
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.decode("latin-1")


def _pdu(command_id: int, status: int, sequence: int, body: bytes = b"") -> bytes:
    return HEADER.pack(HEADER.size + len(body), command_id, status, sequence) + body


class SmppCatcher:
    """Accepts any bind (it is a development sink on loopback, not a gateway)."""

    SYSTEM_ID = b"cobuild-catcher\0"

    def __init__(self, log: MessageLog) -> None:
        self.log = log
        self._ids = itertools.count(1)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readexactly(HEADER.size)
                length, command_id, _, sequence = HEADER.unpack(head)
                body = await reader.readexactly(max(length - HEADER.size, 0))
                reply, close = self._answer(command_id, sequence, body)
                writer.write(reply)
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _answer(self, command_id: int, sequence: int, body: bytes) -> tuple[bytes, bool]:
        if command_id in (BIND_RECEIVER, BIND_TRANSMITTER, BIND_TRANSCEIVER):
            return _pdu(command_id | RESPONSE, STATUS_OK, sequence, self.SYSTEM_ID), False
        if command_id == SUBMIT_SM:
            try:
                sms = parse_submit_sm(body)
            except (ValueError, IndexError, struct.error):
                return _pdu(SUBMIT_SM | RESPONSE, STATUS_SYSTEM_ERROR, sequence, b"\0"), False
            self.log.append(
                CaughtMessage(
                    channel="sms",
                    received_at=_now(),
                    sender=sms.source,
                    recipients=(sms.destination,),
                    subject="",
                    text=sms.text,
                    html="",
                )
            )
            message_id = f"{next(self._ids)}\0".encode()
            return _pdu(SUBMIT_SM | RESPONSE, STATUS_OK, sequence, message_id), False
        if command_id == ENQUIRE_LINK:
            return _pdu(ENQUIRE_LINK | RESPONSE, STATUS_OK, sequence), False
        if command_id == UNBIND:
            return _pdu(UNBIND | RESPONSE, STATUS_OK, sequence), True
        return _pdu(GENERIC_NACK, STATUS_INVALID_COMMAND, sequence), False


# -- the process -----------------------------------------------------------------------


async def serve(log_path: Path, smtp_port: int, smpp_port: int, host: str = LOOPBACK) -> None:
    """Serve both protocols until SIGTERM or SIGINT."""
    log = MessageLog(log_path)
    loop = asyncio.get_running_loop()
    handler = SmtpCatcher(log)
    smtp = await loop.create_server(
        lambda: SMTP(handler, hostname="cobuild-mail-catcher", enable_SMTPUTF8=True),
        host,
        smtp_port,
    )
    smpp = await asyncio.start_server(SmppCatcher(log).serve, host, smpp_port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(
        f"mail catcher: smtp {host}:{smtp_port}, smpp {host}:{smpp_port}, log {log_path}",
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        smtp.close()
        smpp.close()
        await smtp.wait_closed()
        await smpp.wait_closed()


class MailCatcher:
    """The catcher as a child process of the launcher (or of a test)."""

    def __init__(
        self, log_path: Path, process_log: Path, smtp_port: int = 0, smpp_port: int = 0
    ) -> None:
        self.log_path = log_path
        self.process_log = process_log
        self.smtp_port = smtp_port or free_port()
        self.smpp_port = smpp_port or free_port()
        while self.smpp_port == self.smtp_port:
            self.smpp_port = free_port()
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    async def start(self, timeout_s: float = 15.0) -> None:
        self.process_log.parent.mkdir(parents=True, exist_ok=True)
        MessageLog(self.log_path)  # exists before anyone polls it
        with self.process_log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "cobuild_stack.mailcatcher",
                "--log",
                str(self.log_path),
                "--smtp-port",
                str(self.smtp_port),
                "--smpp-port",
                str(self.smpp_port),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
                preexec_fn=die_with_parent(),
            )
        for port in (self.smtp_port, self.smpp_port):
            if not await wait_for_port(port, timeout_s):
                code = self.proc.returncode
                await self.stop()
                raise StackError(
                    f"the mail catcher did not open port {port} in {timeout_s:g}s "
                    f"(exit code {code}); see {self.process_log}"
                )

    async def stop(self, timeout_s: float = 5.0) -> None:
        if self.proc is not None:
            await terminate(self.proc, timeout_s)

    def info(self) -> MailInfo:
        return {
            "smtp_host": LOOPBACK,
            "smtp_port": self.smtp_port,
            "smpp_port": self.smpp_port,
            "log": str(self.log_path),
            "pid": self.pid,
        }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--smpp-port", type=int, required=True)
    parser.add_argument("--host", default=LOOPBACK)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.log, args.smtp_port, args.smpp_port, args.host))


if __name__ == "__main__":
    main()
