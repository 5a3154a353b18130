"""Helpers of tests/provider: the real provider and mail catcher on free ports against the test
PostgreSQL, Debian's Chromium for Playwright, and a tiny redirect target on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cobuild_stack.discovery import ProviderInfo
from cobuild_stack.mailcatcher import MailCatcher
from cobuild_stack.ports import free_port
from cobuild_stack.provider import Provider, ProviderSettings
from cobuild_stack.testing import PgServer

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "provider"
# Asymmetric algorithms only: an ID token is never trusted on a shared secret.
ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "EdDSA"]


# -- a redirect target -----------------------------------------------------------------


@dataclass
class RedirectTarget:
    """Stands for the console's callback: records each GET's path and query, answers a page."""

    port: int = 0
    hits: list[str] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await reader.readline()).decode("latin-1")
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            parts = request_line.split()
            if len(parts) >= 2:
                self.hits.append(parts[1])
                self._arrived.set()
            body = "<!doctype html><title>回调</title><p>已返回工作台</p>".encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        finally:
            writer.close()

    async def wait_for(self, path: str, timeout_s: float = 15.0) -> dict[str, list[str]]:
        """The query of the first hit on `path` (waiting for it)."""
        async with asyncio.timeout(timeout_s):
            while True:
                for hit in self.hits:
                    parts = urlsplit(hit)
                    if parts.path == path:
                        return parse_qs(parts.query)
                self._arrived.clear()
                await self._arrived.wait()


# -- the provider ----------------------------------------------------------------------


@dataclass
class RunningProvider:
    provider: Provider
    mail: MailCatcher
    info: ProviderInfo
    root: Path

    @property
    def mail_log(self) -> Path:
        return self.mail.log_path


@asynccontextmanager
async def running_provider(
    pg: PgServer, *, console_url: str, factors: tuple[str, ...] = ("password",)
) -> AsyncIterator[RunningProvider]:
    """Canaille and the mail catcher on free ports, with a database of their own."""
    root = Path(tempfile.mkdtemp(prefix="cobuild-provider-test-"))
    database_url = await pg.create_database("provider")
    mail = MailCatcher(root / "mail" / "messages.jsonl", root / "log" / "mail.log")
    await mail.start()
    settings = ProviderSettings(port=free_port(), factors=factors, password_rounds=1000)
    provider = Provider(
        root / "provider",
        settings,
        database_url,
        mail=mail.info(),
        log_path=root / "log" / "provider.log",
        console_url=console_url,
    )
    try:
        await provider.start()
        clients = await provider.register_clients()
        yield RunningProvider(provider, mail, provider.info(clients), root)
    finally:
        await provider.stop()
        await mail.stop()
        await pg.drop_database(urlsplit(database_url).path.lstrip("/"))
        shutil.rmtree(root, ignore_errors=True)


async def verify_id_token(info: ProviderInfo, token: str, audience: str) -> dict[str, object]:
    """The ID token's claims, checked against the provider's JWKS (signature, issuer,
    audience, expiry), as a relying party must."""
    async with httpx.AsyncClient() as client:
        jwks = (await client.get(info["jwks_uri"])).json()
    header = jwt.get_unverified_header(token)
    keys = {key.key_id: key for key in jwt.PyJWKSet.from_dict(jwks).keys}
    claims: dict[str, object] = jwt.decode(
        token,
        keys[header["kid"]].key,
        algorithms=ID_TOKEN_ALGORITHMS,
        audience=audience,
        issuer=info["issuer"],
        options={"require": ["exp", "iat", "sub", "aud", "iss"]},
    )
    return claims


# -- Debian's Chromium -----------------------------------------------------------------


def _has_cjk_font() -> bool:
    try:
        out = subprocess.run(
            ["fc-list", ":lang=zh"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return bool(out.stdout.strip())


def chromium_or_skip() -> str:
    """Debian's chromium with a CJK font; installed with apt when missing and running as root
    (as CI does), else the test is skipped with the command to run. Never `playwright
    install`: the browser is the distribution's."""
    missing = [
        package
        for package, present in (
            ("chromium", os.path.exists(CHROMIUM)),
            ("fonts-noto-cjk", _has_cjk_font()),
        )
        if not present
    ]
    if missing:
        if os.geteuid() != 0:
            pytest.skip(
                f"the browser test needs Debian's {' and '.join(missing)}: "
                f"sudo apt-get install -y {' '.join(missing)}"
            )
        subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", *missing],
            check=True,
            capture_output=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    return CHROMIUM
