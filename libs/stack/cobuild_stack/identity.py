"""The sign-in side of the embedded stack, as the launcher runs it: the mail catcher and the
OpenID Connect provider, started beside PostgreSQL and the broker, and what the services are
told about them.

The launcher calls `start` once PostgreSQL is up (the provider's database is made like the
services' ones), `ready` before it publishes var/stack.json, `service_env` for each service,
`watch` while it supervises, and `stop` after the services have stopped.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from .discovery import MailInfo, ProviderClientInfo, ProviderInfo
from .errors import StackError
from .mailcatcher import MailCatcher
from .ports import LOOPBACK, free_port, port_is_free
from .postgres import EmbeddedPostgres
from .procs import tail
from .provider import DATABASE, DEFAULT_PORT, PLAYED_PASSWORD_ROUNDS, Provider, ProviderSettings

Level = Literal["info", "warning", "error"]
Say = Callable[[Level, str, str], None]  # (level, component, message): the launcher's events


@dataclass(frozen=True)
class ServiceSlot:
    """What the provider must know of a service the launcher starts."""

    name: str
    port: int


class EmbeddedIdentity:
    def __init__(
        self,
        var_dir: Path,
        settings: ProviderSettings,
        *,
        test_mode: bool,
        say: Say,
    ) -> None:
        if test_mode:  # a throw-away stack: a free port, and cheap hashes for made-up people
            settings = replace(
                settings,
                port=0 if settings.port == DEFAULT_PORT else settings.port,
                password_rounds=settings.password_rounds or PLAYED_PASSWORD_ROUNDS,
            )
        self.settings = settings
        self.var_dir = var_dir
        self._say = say
        self.mail: MailCatcher | None = None
        self.provider: Provider | None = None
        self.clients: dict[str, ProviderClientInfo] = {}
        self.info: ProviderInfo | None = None
        self._ready: asyncio.Task[None] | None = None
        self._restarted: Callable[[], None] = lambda: None

    async def start(self, postgres: EmbeddedPostgres, services: list[ServiceSlot]) -> None:
        """Mail catcher up, provider spawned (it migrates its database as it starts); `ready`
        waits for it, so the broker and the services start meanwhile."""
        self.mail = MailCatcher(
            self.var_dir / "mail" / "messages.jsonl", self.var_dir / "log" / "mail.log"
        )
        await self.mail.start()
        self._say(
            "info",
            "mail",
            f"catching on smtp {LOOPBACK}:{self.mail.smtp_port} and smpp "
            f"{LOOPBACK}:{self.mail.smpp_port}; log {self.mail.log_path}",
        )
        database_url = await postgres.ensure_database(DATABASE)
        console = next((s for s in services if s.name == "console"), None)
        port = self.settings.port
        if not port or not port_is_free(port):
            taken = port
            port = free_port()
            if taken:
                self._say("warning", "provider", f"port {taken} is taken; using {port} instead")
        self.provider = Provider(
            self.var_dir / "provider",
            self.settings,
            database_url,
            mail=self.mail.info(),
            log_path=self.var_dir / "log" / "provider.log",
            port=port,
            console_url=f"http://{LOOPBACK}:{console.port}" if console else "",
        )
        self.provider.write_config()
        # The clients' secrets exist before the provider knows them: the services' settings
        # can be written now; the registration follows once the provider answers.
        self.provider.files.client_secrets(self.provider.clients)
        await self.provider.spawn()
        self._ready = asyncio.create_task(self._become_ready())

    async def _become_ready(self) -> None:
        assert self.provider is not None
        await self.provider.wait_ready(60.0)
        self.clients = await self.provider.register_clients()
        self.info = self.provider.info(self.clients)

    async def ready(self) -> None:
        if self._ready is not None:
            await self._ready
            assert self.provider is not None
            self._say("info", "provider", f"ready at {self.provider.issuer}")

    def service_env(self, service: str) -> dict[str, str]:
        """The settings a service reads about the provider and the mail catcher (README,
        "Sign-in"); services that do not read them ignore them."""
        if self.provider is None or self.mail is None:
            return {}
        prefix = f"COBUILD_{service.upper()}_"
        provider = self.provider
        secrets = provider.files.client_secrets(provider.clients)
        ids = {spec.key: spec.client_id for spec in provider.clients}
        env = {
            f"{prefix}SMTP_HOST": LOOPBACK,
            f"{prefix}SMTP_PORT": str(self.mail.smtp_port),
        }
        if service == "console":
            env |= {
                f"{prefix}OIDC_ISSUER": provider.issuer,
                f"{prefix}OIDC_CLIENT_ID": ids["console"],
                f"{prefix}OIDC_CLIENT_SECRET": "",
                f"{prefix}PUBLIC_URL": provider.console_url,
            }
        if service == "notifications":  # the workbench's links in messages
            env |= {f"{prefix}CONSOLE_URL": provider.console_url}
        if service == "access":
            env |= {
                f"{prefix}PROVIDER_ISSUER": provider.issuer,
                f"{prefix}PROVIDER_CLIENT_ID": ids["access"],
                f"{prefix}PROVIDER_CLIENT_SECRET": secrets[ids["access"]],
                f"{prefix}PROVIDER_AUDIENCES": json.dumps([ids["console"], ids["access"]]),
                f"{prefix}PUBLIC_URL": provider.console_url,
            }
        return env

    def mail_info(self) -> MailInfo | None:
        return self.mail.info() if self.mail else None

    async def watch(
        self,
        stopping: Callable[[], bool],
        max_restarts: int,
        restarted: Callable[[], None] = lambda: None,
    ) -> None:
        """Restart the provider or the catcher if it exits (then `restarted()`, so the
        launcher republishes the pids); StackError after `max_restarts` restarts of one."""
        self._restarted = restarted
        watchers = []
        if self.provider is not None:
            watchers.append(
                self._watch(
                    "provider",
                    self._provider_proc,
                    self._restart_provider,
                    self.provider.log_path,
                    stopping,
                    max_restarts,
                )
            )
        if self.mail is not None:
            watchers.append(
                self._watch(
                    "mail",
                    self._mail_proc,
                    self._restart_mail,
                    self.mail.process_log,
                    stopping,
                    max_restarts,
                )
            )
        await asyncio.gather(*watchers)

    def _provider_proc(self) -> asyncio.subprocess.Process | None:
        return self.provider.proc if self.provider else None

    def _mail_proc(self) -> asyncio.subprocess.Process | None:
        return self.mail.proc if self.mail else None

    async def _restart_provider(self) -> None:
        assert self.provider is not None
        await self.provider.spawn()
        await self.provider.wait_ready(60.0)
        if self.info is not None:
            self.info["pid"] = self.provider.pid

    async def _restart_mail(self) -> None:
        assert self.mail is not None
        await self.mail.start()

    async def _watch(
        self,
        name: str,
        proc: Callable[[], asyncio.subprocess.Process | None],
        restart: Callable[[], Awaitable[None]],
        log_path: Path,
        stopping: Callable[[], bool],
        max_restarts: int,
    ) -> None:
        restarts = 0
        while (current := proc()) is not None:
            code = await current.wait()
            if stopping():
                return
            lines = " | ".join(tail(log_path, 3))
            self._say("error", name, f"exited with code {code}: {lines}")
            if restarts >= max_restarts:
                raise StackError(
                    f"the {name} exited with code {code} after {restarts} restart(s); "
                    f"stopping the stack (log: {log_path})"
                )
            restarts += 1
            self._say("warning", name, f"restarting ({restarts} of {max_restarts})")
            await asyncio.sleep(0.5 * restarts)
            await restart()
            self._say("info", name, "running again")
            self._restarted()

    async def stop(self) -> None:
        if self._ready is not None and not self._ready.done():
            self._ready.cancel()
            await asyncio.gather(self._ready, return_exceptions=True)
        if self.provider is not None:
            await self.provider.stop()
        if self.mail is not None:
            await self.mail.stop()
