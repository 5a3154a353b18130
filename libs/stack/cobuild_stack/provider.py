"""The embedded OpenID Connect provider: Canaille (`canaille run`), with its data in a database
of the embedded PostgreSQL and its configuration, keys and secrets under var/provider/.

Who signs in is the provider's business (credentials, profiles, one-time codes); what a
person may do is the access service's (ARCHITECTURE.md, "Personal data"). `Provider` writes
Canaille's configuration (provider_config.py), starts it, waits for its discovery document,
and registers Cobuild's clients (provider_clients.py) through Canaille's own command line
(`canaille dump` / `restore` / `set`), never by writing its tables.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import tomlkit

from .discovery import MailInfo, ProviderClientInfo, ProviderInfo, write_private
from .errors import StackError
from .ports import LOOPBACK
from .procs import die_with_parent, tail, terminate
from .provider_clients import CONSOLE_DEFAULT_URL, ClientSpec, cobuild_clients
from .provider_config import (
    DEFAULT_PORT,
    LOCALE_DIR,
    PLAYED_PASSWORD_ROUNDS,
    ProviderFiles,
    ProviderSettings,
    canaille_config,
    compile_catalogues,
    drop_none,
)

__all__ = ["DATABASE", "DEFAULT_PORT", "PLAYED_PASSWORD_ROUNDS", "Provider", "ProviderSettings"]

DATABASE = "provider"  # its database and login role in the embedded PostgreSQL


_CANAILLE_CLI = "import sys; from canaille.commands import cli; sys.exit(cli(prog_name='canaille'))"


class Provider:
    """Canaille as a child process; `start`, `register_clients`, `stop`, `info`."""

    def __init__(
        self,
        config_dir: Path,
        settings: ProviderSettings,
        database_url: str,
        *,
        mail: MailInfo | None,
        log_path: Path,
        port: int | None = None,
        console_url: str = "",
    ) -> None:
        self.files = ProviderFiles(config_dir)
        self.settings = settings
        self.database_url = database_url
        self.mail = mail
        self.log_path = log_path
        self.port = settings.port if port is None else port
        self.proc: asyncio.subprocess.Process | None = None
        # A configured public URL wins over the address the launcher gives the console.
        self.console_url = (settings.console_url or console_url or CONSOLE_DEFAULT_URL).rstrip("/")
        self.clients = cobuild_clients(self.console_url, driver=settings.driver_client)
        self.restarts = 0
        self.discovery: dict[str, Any] = {}

    @property
    def url(self) -> str:
        """Where the launcher reaches it: its loopback listener, or, serving TLS itself, the
        one listener it has."""
        if self.settings.tls:
            return self.issuer
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def issuer(self) -> str:
        if self.settings.tls:
            return f"https://{self.settings.public_host}:{self.port}"
        return self.settings.public_url.rstrip("/") or self.url

    @property
    def _verify(self) -> ssl.SSLContext | bool:
        """Its own certificate trusted (a self-signed one for an intranet)."""
        if self.settings.tls:
            return ssl.create_default_context(cafile=self.settings.tls_cert_file)
        return True

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def _as_forwarded(self) -> dict[str, str]:
        """Behind a public https issuer, asked as its TLS proxy would ask."""
        if self.issuer.startswith("https://") and not self.settings.tls:
            return {"X-Forwarded-Proto": "https", "X-Forwarded-Host": urlsplit(self.issuer).netloc}
        return {}

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CANAILLE")}
        env["CANAILLE_CONFIG"] = str(self.files.config)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def write_config(self) -> None:
        self.files.prepare()
        compile_catalogues(LOCALE_DIR, self.files.translations)
        config = canaille_config(
            self.settings,
            issuer=self.issuer,
            listen_port=self.port,
            database_url=self.database_url,
            mail=self.mail,
            files=self.files,
            console_url=self.console_url,
        )
        write_private(self.files.config, tomlkit.dumps(drop_none(config)))

    async def spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"--- cobuild launcher: starting the provider on {self.url} ---\n".encode())
            log.flush()
            # `canaille run` with the SMS step corrected (see provider_server.py).
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "cobuild_stack.provider_server",
                "run",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=self._env(),
                cwd=self.files.root,
                start_new_session=True,
                preexec_fn=die_with_parent(),
            )

    async def start(self, timeout_s: float = 60.0) -> None:
        """Configuration, process, and its discovery document answering."""
        self.write_config()
        await self.spawn()
        await self.wait_ready(timeout_s)

    async def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        async with httpx.AsyncClient(timeout=2.0, verify=self._verify) as client:
            while True:
                if self.proc is None or self.proc.returncode is not None:
                    code = self.proc.returncode if self.proc else None
                    lines = " | ".join(tail(self.log_path, 3))
                    raise StackError(
                        f"the provider exited with code {code} before it was ready "
                        f"(log {self.log_path}: {lines})"
                    )
                try:
                    response = await client.get(
                        f"{self.url}/.well-known/openid-configuration",
                        headers=self._as_forwarded(),
                    )
                    if response.status_code == 200:
                        self.discovery = response.json()
                        return
                    last = f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    last = type(exc).__name__
                if time.monotonic() > deadline:
                    raise StackError(
                        f"the provider is not ready after {timeout_s:g}s on {self.url} "
                        f"(last: {last}); see {self.log_path}"
                    )
                await asyncio.sleep(0.1)

    async def stop(self, timeout_s: float = 10.0) -> int | None:
        if self.proc is None:
            return None
        return await terminate(self.proc, timeout_s)

    async def cli(self, *args: str, stdin: bytes | None = None) -> str:
        """One `canaille` command against this provider's configuration; its stdout."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _CANAILLE_CLI,
            *args,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._env(),
            cwd=self.files.root,
        )
        out, err = await proc.communicate(stdin)
        if proc.returncode != 0:
            last = err.decode(errors="replace").strip().splitlines()[-3:]
            raise StackError(
                f"`canaille {' '.join(args[:2])}` failed (exit {proc.returncode}): "
                + " | ".join(last)
            )
        return out.decode()

    async def register_clients(self) -> dict[str, ProviderClientInfo]:
        """Make (or bring up to date) Cobuild's clients; their ids and secrets.

        Each `canaille` command boots Canaille anew (a second or two of CPU), so a relaunch
        asks none when the clients it registered last time (var/provider/registered.json) are
        still what is wanted and the confidential ones still authenticate at the provider.
        Otherwise: the first time, one `canaille restore` of them all (it makes a client and
        then its audience, which names the client itself: `canaille create` cannot); after a
        change, `canaille dump client`, a `restore` of the missing ones and a `set` of each
        changed one."""
        secrets_by_id = self.files.client_secrets(self.clients)
        wanted = self._fingerprint(secrets_by_id)
        marker = self.files.root / "registered.json"
        previous = marker.read_text() if marker.exists() else ""
        if previous == wanted and await self._clients_authenticate(secrets_by_id):
            return self._client_infos(secrets_by_id)
        if not previous:
            fresh = {spec.client_id: str(uuid.uuid4()) for spec in self.clients}
            try:
                await self._restore(self.clients, fresh, secrets_by_id)
            except StackError:  # some exist (a database kept, var/provider not): reconcile
                await self._reconcile(secrets_by_id)
        else:
            await self._reconcile(secrets_by_id)
        write_private(marker, wanted)
        return self._client_infos(secrets_by_id)

    def _fingerprint(self, secrets_by_id: dict[str, str]) -> str:
        """What was registered: every client's specification and secret."""
        described = [
            {**asdict(spec), "secret": secrets_by_id.get(spec.client_id, "")}
            for spec in self.clients
        ]
        return json.dumps(described, sort_keys=True, ensure_ascii=False) + "\n"

    async def _clients_authenticate(self, secrets_by_id: dict[str, str]) -> bool:
        """Each confidential client authenticates at the introspection endpoint (an unknown
        token answers `active: false`): its row, with that secret, is in the database."""
        endpoint = str(self.discovery.get("introspection_endpoint", ""))
        if not endpoint:
            return False
        endpoint = endpoint.replace(self.issuer, self.url, 1)
        async with httpx.AsyncClient(
            timeout=5.0, headers=self._as_forwarded(), verify=self._verify
        ) as client:
            for spec in self.clients:
                if not spec.confidential:
                    continue
                auth = httpx.BasicAuth(spec.client_id, secrets_by_id[spec.client_id])
                try:
                    answer = await client.post(endpoint, data={"token": "probe"}, auth=auth)
                except httpx.HTTPError:
                    return False
                if answer.status_code != 200:
                    return False
        return True

    async def _restore(
        self, specs: Sequence[ClientSpec], ids: dict[str, str], secrets_by_id: dict[str, str]
    ) -> None:
        states = [
            spec.state(ids[spec.client_id], secrets_by_id.get(spec.client_id, ""), ids)
            for spec in specs
        ]
        await self.cli("restore", stdin=json.dumps({"client": states}).encode())

    async def _reconcile(self, secrets_by_id: dict[str, str]) -> None:
        dump = json.loads(await self.cli("dump", "client") or "{}")
        stored = {str(c["client_id"]): c for c in dump.get("client", [])}
        ids = {
            spec.client_id: str(stored[spec.client_id]["id"])
            if spec.client_id in stored
            else str(uuid.uuid4())
            for spec in self.clients
        }
        new = [spec for spec in self.clients if spec.client_id not in stored]
        if new:
            await self._restore(new, ids, secrets_by_id)
        for spec in self.clients:
            current = stored.get(spec.client_id)
            secret = secrets_by_id.get(spec.client_id, "")
            if current is not None and spec.differs_from(current, secret):
                audience = [a for aud in spec.audience for a in ("--audience", ids[aud])]
                await self.cli(
                    "set",
                    "client",
                    ids[spec.client_id],
                    "--quiet",
                    *spec.options(secret),
                    *audience,
                )

    def _client_infos(self, secrets_by_id: dict[str, str]) -> dict[str, ProviderClientInfo]:
        return {
            spec.key: {
                "client_id": spec.client_id,
                "client_secret": secrets_by_id.get(spec.client_id, ""),
                "redirect_uri": spec.redirect_uris[0] if spec.redirect_uris else "",
            }
            for spec in self.clients
        }

    def info(self, clients: dict[str, ProviderClientInfo]) -> ProviderInfo:
        d = self.discovery
        return {
            "issuer": str(d.get("issuer", self.issuer)),
            "url": self.url,
            "authorization_endpoint": str(d.get("authorization_endpoint", "")),
            "token_endpoint": str(d.get("token_endpoint", "")),
            "introspection_endpoint": str(d.get("introspection_endpoint", "")),
            "userinfo_endpoint": str(d.get("userinfo_endpoint", "")),
            "end_session_endpoint": str(d.get("end_session_endpoint", "")),
            "jwks_uri": str(d.get("jwks_uri", "")),
            "scim_url": f"{self.issuer}/scim/v2",
            "clients": clients,
            "pid": self.pid,
            "log": str(self.log_path),
        }
