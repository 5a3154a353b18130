"""Sessions: kept on the server, in this process's memory; the browser holds only a signed,
httpOnly, SameSite=Lax cookie naming the session, so no token ever reaches its JavaScript.

A session ends after `session_idle_minutes` without a request, at sign-out, and with the
process (a restart asks everyone to sign in again). A second replica would need a shared
store behind the same `SessionStore` methods."""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, Signer

from cobuild_console.gateways.access import CobuildToken, Grant
from cobuild_console.gateways.provider import Authorization, ProviderTokens

COOKIE = "cobuild_console"


@dataclass
class Session:
    sid: str
    csrf: str
    last_seen: float
    locale: str
    # A sign-in under way: what the callback checks.
    pending: Authorization | None = None
    next_url: str = "/"
    # An invitation link opened before signing in: its page is shown again after sign-in.
    invitation: str | None = None
    # Signed in.
    subject: str | None = None
    display_name: str = ""
    provider: ProviderTokens | None = None
    person_token: CobuildToken | None = None
    grants: list[Grant] = field(default_factory=list)
    acting: Grant | None = None
    token: CobuildToken | None = None
    flash: list[tuple[str, str]] = field(default_factory=list)  # (kind, message)
    new: bool = False  # the cookie must be (re)set
    ended: bool = False  # signed out: the cookie is cleared

    @property
    def signed_in(self) -> bool:
        return self.subject is not None

    def say(self, kind: str, message: str) -> None:
        self.flash.append((kind, message))

    def take_flash(self) -> list[tuple[str, str]]:
        shown, self.flash = self.flash, []
        return shown


class SessionStore:
    def __init__(self, secret: str, idle_s: float, max_count: int) -> None:
        self._signer = Signer(secret, salt="cobuild-console-session")
        self._idle_s = idle_s
        self._max = max_count
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def cookie_value(self, session: Session) -> str:
        return self._signer.sign(session.sid).decode()

    def load(self, cookie: str | None, now: float | None = None) -> Session | None:
        """The live session the cookie names, or None (absent, forged or idle too long)."""
        if not cookie:
            return None
        try:
            sid = self._signer.unsign(cookie).decode()
        except BadSignature:
            return None
        now = time.time() if now is None else now
        session = self._sessions.get(sid)
        if session is None:
            return None
        if now - session.last_seen > self._idle_s:
            del self._sessions[sid]
            return None
        session.last_seen = now
        self._sessions.move_to_end(sid)
        return session

    def create(self, locale: str, now: float | None = None) -> Session:
        now = time.time() if now is None else now
        self._evict(now)
        session = Session(
            sid=secrets.token_urlsafe(32),
            csrf=secrets.token_urlsafe(32),
            last_seen=now,
            locale=locale,
            new=True,
        )
        self._sessions[session.sid] = session
        return session

    def rotate(self, session: Session) -> Session:
        """A new id and CSRF token for the same session (at sign-in: the id a visitor had
        before cannot be fixed on them by someone else)."""
        self._sessions.pop(session.sid, None)
        session.sid = secrets.token_urlsafe(32)
        session.csrf = secrets.token_urlsafe(32)
        session.new = True
        self._sessions[session.sid] = session
        return session

    def end(self, session: Session) -> None:
        self._sessions.pop(session.sid, None)

    def __len__(self) -> int:
        return len(self._sessions)

    def _evict(self, now: float) -> None:
        # The oldest-used first: idle ones, then (at the bound) the least recently used.
        while self._sessions:
            sid, oldest = next(iter(self._sessions.items()))
            if now - oldest.last_seen > self._idle_s or len(self._sessions) >= self._max:
                del self._sessions[sid]
            else:
                break

    def stats(self) -> dict[str, Any]:
        return {"sessions": len(self._sessions)}
