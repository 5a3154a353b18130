"""The dev/test stack: PostgreSQL, Tansu and the services, supervised as one unit.

Restart policy: a service that exits is reported (name, exit code, last log lines) and
restarted, at most `max_restarts` times over the stack's life; after that the whole stack
stops with an error. The broker or PostgreSQL exiting stops the stack at once (their state
cannot be trusted to come back by itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from .broker import TansuBroker
from .console import console_process
from .discovery import StackInfo, stack_file, write_stack_info
from .errors import StackError
from .identity import EmbeddedIdentity, ServiceSlot
from .keys import DevKeys, ensure_dev_keys
from .ports import free_port, port_is_free
from .postgres import EmbeddedPostgres
from .procs import pid_alive, tail
from .provider import ProviderSettings
from .public import PublicAddress
from .service_process import ServiceProcess
from .topics import suite_topics

# The `iss` of the access service's tokens (its `token_issuer` setting's default).
ACCESS_TOKEN_ISSUER = "cobuild-access"
SERVICES = (
    "agreements",
    "commitments",
    "points",
    "evaluation",
    "access",
    "escalations",
    "notifications",
)
DEFAULT_PORTS = {
    "agreements": 8101,
    "commitments": 8102,
    "points": 8103,
    "evaluation": 8104,
    "access": 8105,
    "escalations": 8106,
    "notifications": 8107,
}

log = logging.getLogger("cobuild.stack")


@dataclass(frozen=True)
class StackEvent:
    """Something the person running the stack should see."""

    level: Literal["info", "warning", "error"]
    component: str
    message: str
    exit_code: int | None = None
    log_tail: tuple[str, ...] = ()


EventSink = Callable[[StackEvent], None]


def _log_event(event: StackEvent) -> None:
    level = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
    log.log(level[event.level], "%s: %s", event.component, event.message)
    for line in event.log_tail:
        log.log(level[event.level], "  | %s", line)


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise StackError(f"{name} must be an integer, got {raw!r}") from None


def quarter_of_memory() -> str:
    """PostgreSQL's cache for the run stack: a quarter of the machine's memory (the usual
    advice for a database server), at least 1 GB. Only the pages it fills take memory. The OS
    page cache cannot stand in for it everywhere: a VM whose balloon returns free memory to its
    host drops cached file pages within seconds, and each read misses to the disk."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(total // 4, 1 << 30) >> 20}MB"


@dataclass(frozen=True)
class StackConfig:
    var_dir: Path = Path("var")
    services: tuple[str, ...] = SERVICES
    # `python -m <module_pattern.format(name=...)>`; tests point it at a fake service.
    module_pattern: str = "cobuild_{name}"
    pg_port: int = 0
    broker_port: int = 0
    partitions: int = 4
    clock: str = "system"
    service_ports: Mapping[str, int] = field(default_factory=dict)  # 0 = free port
    topics: tuple[str, ...] = tuple(suite_topics())
    ready_timeout: float = 60.0
    stop_timeout: float = 10.0
    max_restarts: int = 3
    test_mode: bool = False
    # PostgreSQL's default (128 MB) is sized for a shared host; the four services' working
    # sets (the ledger's pages among them) outgrow it long before a city's data does.
    pg_shared_buffers: str = field(default_factory=quarter_of_memory)
    # The default (1 GB, a checkpoint at about half of it) made the pipeline checkpoint every
    # 20 s, and after each checkpoint the first change to a page logs the whole page again.
    pg_max_wal_size: str = "8GB"
    pg_settings: Mapping[str, str] = field(default_factory=dict)  # `-c name=value` at start
    extra_env: Mapping[str, str] = field(default_factory=dict)
    # The OpenID Connect provider and the mail catcher (cobuild_stack.identity);
    # COBUILD_PROVIDER=0 runs the stack without them.
    provider: ProviderSettings = field(default_factory=ProviderSettings)
    # The workbench (cobuild_stack.console): None runs the stack without it, 0 on a free port.
    console_port: int | None = None
    # Where phones reach the workbench and the sign-in pages (cobuild_stack.public); None:
    # loopback only.
    public: PublicAddress | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> StackConfig:
        """COBUILD_PG_PORT, COBUILD_PG_SHARED_BUFFERS, COBUILD_PG_MAX_WAL_SIZE,
        COBUILD_BROKER_PORT, COBUILD_PARTITIONS, COBUILD_CLOCK, COBUILD_SERVICE_MODULE_PATTERN
        and COBUILD_<SERVICE>_PORT; keyword overrides win."""
        env = os.environ if env is None else env
        services = overrides.get("services", SERVICES)
        env_ports = {
            name: _env_int(env, f"COBUILD_{name.upper()}_PORT", DEFAULT_PORTS.get(name, 0))
            for name in services
        }
        values: dict[str, Any] = {
            "pg_port": _env_int(env, "COBUILD_PG_PORT", 0),
            "broker_port": _env_int(env, "COBUILD_BROKER_PORT", 0),
            "partitions": _env_int(env, "COBUILD_PARTITIONS", 4),
            "pg_shared_buffers": env.get("COBUILD_PG_SHARED_BUFFERS") or quarter_of_memory(),
            "pg_max_wal_size": env.get("COBUILD_PG_MAX_WAL_SIZE") or cls.pg_max_wal_size,
            "clock": env.get("COBUILD_CLOCK") or "system",
            # Lets a test (or a developer) run stand-ins for the services.
            "module_pattern": env.get("COBUILD_SERVICE_MODULE_PATTERN") or "cobuild_{name}",
            "provider": ProviderSettings.from_env(env),
            **overrides,
            "service_ports": {**env_ports, **overrides.get("service_ports", {})},
        }
        return cls(**values)


def _provider_settings(config: StackConfig) -> ProviderSettings:
    """The provider as configured, or serving TLS on the public host beside the console."""
    public = config.public
    if public is None or not public.tls:
        return config.provider
    return replace(
        config.provider,
        public_host=public.host,
        tls_cert_file=str(public.tls_cert),
        tls_key_file=str(public.tls_key),
        console_url=public.url,
    )


def _pg_settings(config: StackConfig) -> dict[str, str]:
    if config.test_mode:  # a throw-away cluster keeps PostgreSQL's defaults: it holds little
        return dict(config.pg_settings)
    sized = {
        "shared_buffers": config.pg_shared_buffers,
        "max_wal_size": config.pg_max_wal_size,
        "checkpoint_timeout": "15min",
    }
    return {**sized, **config.pg_settings}


class Stack:
    """Start with `await stack.start()` (or `async with`), supervise with `run_until`,
    stop with `await stack.stop()`."""

    def __init__(self, config: StackConfig, on_event: EventSink | None = None) -> None:
        self.config = config
        self.var_dir = config.var_dir.resolve()
        self._emit = on_event or _log_event
        self.postgres = EmbeddedPostgres(
            self.var_dir / "pg",
            config.pg_port,
            test_mode=config.test_mode,
            settings=_pg_settings(config),
        )
        self.broker = TansuBroker(config.broker_port, log_path=self.var_dir / "log" / "broker.log")
        self.identity = (
            EmbeddedIdentity(
                self.var_dir,
                _provider_settings(config),
                test_mode=config.test_mode,
                say=lambda level, part, text: self._emit(StackEvent(level, part, text)),
            )
            if config.provider.enabled
            else None
        )
        self.services: dict[str, ServiceProcess] = {}
        self.console: ServiceProcess | None = None
        self.databases: dict[str, str] = {}
        self.keys: DevKeys | None = None
        self.info: StackInfo | None = None
        self._stopping = False
        self._started_pg = False

    async def __aenter__(self) -> Stack:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> StackInfo:
        if len(set(self.config.services)) != len(self.config.services):
            raise StackError(f"services listed twice: {', '.join(self.config.services)}")
        try:
            return await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> StackInfo:
        for sub in ("log", "data"):
            (self.var_dir / sub).mkdir(parents=True, exist_ok=True)
        self.keys = ensure_dev_keys(self.var_dir / "keys")

        await self.postgres.start()
        self._started_pg = True
        self._emit(StackEvent("info", "postgres", f"listening on port {self.postgres.port}"))
        for name in self.config.services:
            self.databases[name] = await self.postgres.ensure_database(name)
        ports = self._service_ports()
        console_port = self._console_port(ports)
        if self.identity is not None:  # it boots while the broker starts
            slots = [ServiceSlot(name, port) for name, port in ports.items()]
            slots += [ServiceSlot("console", console_port)] if console_port else []
            await self.identity.start(self.postgres, slots)

        await self.broker.start()
        await self.broker.create_topics(self.config.topics, self.config.partitions)
        self._emit(StackEvent("info", "broker", f"listening on {self.broker.bootstrap}"))

        for name, port in ports.items():
            self.services[name] = self._service_process(name, port, ports, console_port)
        for service in self.services.values():
            await service.spawn()
        results = await asyncio.gather(
            *(s.wait_ready(self.config.ready_timeout) for s in self.services.values()),
            return_exceptions=True,
        )
        if self.identity is not None:
            await self.identity.ready()
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            for service, result in zip(self.services.values(), results, strict=True):
                if isinstance(result, BaseException):
                    self._emit(
                        StackEvent(
                            "error",
                            service.name,
                            str(result),
                            service.proc.returncode if service.proc else None,
                            tuple(service.log_tail()),
                        )
                    )
            raise StackError("; ".join(str(f) for f in failures))
        for service in self.services.values():
            self._emit(StackEvent("info", service.name, f"ready at {service.url}"))
        if console_port:
            identity_env = self.identity.service_env("console") if self.identity else {}
            self.console = console_process(
                self.var_dir,
                console_port,
                ports,
                clock=self.config.clock,
                extra_env={**self.config.extra_env, **identity_env},
                public=self.config.public,
            )
            await self.console.spawn()
            await self.console.wait_ready(self.config.ready_timeout)
            self._emit(StackEvent("info", "console", f"the workbench is at {self.console.url}"))
        self.info = self._stack_info()
        write_stack_info(self.var_dir, self.info)
        return self.info

    async def run_until(self, stop: asyncio.Event) -> None:
        """Supervise until `stop` is set; StackError if a child could not be kept up."""
        supervised = [*self.services.values(), *([self.console] if self.console else [])]
        watchers = [asyncio.create_task(self._watch_service(s)) for s in supervised]
        watchers.append(asyncio.create_task(self._watch_broker()))
        watchers.append(asyncio.create_task(self._watch_postgres()))
        if self.identity is not None:
            watchers.append(
                asyncio.create_task(
                    self.identity.watch(
                        lambda: self._stopping, self.config.max_restarts, self._republish
                    )
                )
            )
        stopped = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait([stopped, *watchers], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopped:
                    task.result()
        finally:
            for task in [stopped, *watchers]:
                task.cancel()
            await asyncio.gather(stopped, *watchers, return_exceptions=True)

    async def stop(self) -> None:
        """Services (SIGTERM, SIGKILL after stop_timeout), then the broker, then PostgreSQL."""
        self._stopping = True
        if self.console is not None:  # first: it calls the services
            await self.console.stop(self.config.stop_timeout)
        codes = await asyncio.gather(
            *(s.stop(self.config.stop_timeout) for s in self.services.values()),
            return_exceptions=True,
        )
        for service, code in zip(self.services.values(), codes, strict=True):
            if isinstance(code, BaseException):
                self._emit(StackEvent("error", service.name, f"could not be stopped: {code}"))
        if self.identity is not None:
            await self.identity.stop()
        await self.broker.stop()
        if self._started_pg:
            await self.postgres.stop()
        with contextlib.suppress(FileNotFoundError):
            if self.info is not None:
                stack_file(self.var_dir).unlink()
        self.info = None

    # -- supervision -------------------------------------------------------------------

    async def _watch_service(self, service: ServiceProcess) -> None:
        while True:
            assert service.proc is not None
            code = await service.proc.wait()
            if self._stopping:
                return
            lines = tuple(service.log_tail())
            self._emit(StackEvent("error", service.name, f"exited with code {code}", code, lines))
            if service.restarts >= self.config.max_restarts:
                last = f"; last log line: {lines[-1]}" if lines else ""
                raise StackError(
                    f"{service.name} exited with code {code} after {service.restarts} "
                    f"restart(s); stopping the stack (log: {service.log_path}){last}"
                )
            service.restarts += 1
            self._emit(
                StackEvent(
                    "warning",
                    service.name,
                    f"restarting ({service.restarts} of {self.config.max_restarts})",
                )
            )
            await asyncio.sleep(0.5 * service.restarts)  # do not spin on an instant crash
            await service.spawn()
            try:
                await service.wait_ready(self.config.ready_timeout)
            except StackError:
                if service.proc is not None and service.proc.returncode is not None:
                    continue  # exited again: counted on the next turn
                raise
            self._emit(StackEvent("info", service.name, f"ready again at {service.url}"))
            if self.info is not None and service.name in self.info["services"]:
                self.info["services"][service.name]["pid"] = service.pid
                write_stack_info(self.var_dir, self.info)

    async def _watch_broker(self) -> None:
        proc = self.broker.process
        if proc is None:
            return
        code = await proc.wait()
        if not self._stopping:
            lines = tuple(tail(self.broker.log_path, 10))
            self._emit(StackEvent("error", "broker", f"exited with code {code}", code, lines))
            raise StackError(f"the Tansu broker exited with code {code}; stopping the stack")

    async def _watch_postgres(self) -> None:
        pid = self.postgres.pid
        # Not our child (pg_ctl detaches it), so there is nothing to wait on but its pid.
        while pid is not None and pid_alive(pid):  # noqa: ASYNC110
            await asyncio.sleep(0.5)
        if not self._stopping:
            lines = tuple(tail(self.postgres.log_path, 10))
            self._emit(StackEvent("error", "postgres", "exited", None, lines))
            raise StackError("PostgreSQL exited; stopping the stack")

    # -- wiring ------------------------------------------------------------------------

    def _service_ports(self) -> dict[str, int]:
        chosen: dict[str, int] = {}
        for name in self.config.services:
            wanted = self.config.service_ports.get(name, DEFAULT_PORTS.get(name, 0))
            port = wanted
            if not port or port in chosen.values() or not port_is_free(port):
                port = free_port()
                while port in chosen.values():
                    port = free_port()
                if wanted:
                    self._emit(
                        StackEvent("warning", name, f"port {wanted} is taken; using {port} instead")
                    )
            chosen[name] = port
        return chosen

    def _console_port(self, taken: dict[str, int]) -> int | None:
        wanted = self.config.console_port
        if wanted is None:
            return None
        if self.config.public is not None:  # people type this one: no other will do
            port = self.config.public.port
            if port in taken.values() or not port_is_free(port):
                raise StackError(f"port {port} of {self.config.public.url} is taken")
            return port
        if wanted and wanted not in taken.values() and port_is_free(wanted):
            return wanted
        port = free_port()
        while port in taken.values():
            port = free_port()
        if wanted:
            self._emit(StackEvent("warning", "console", f"port {wanted} is taken; using {port}"))
        return port

    def _console_url(self, console_port: int) -> str:
        if self.config.public is not None:
            return self.config.public.url
        return f"http://127.0.0.1:{console_port}"

    def _service_process(
        self, name: str, port: int, ports: dict[str, int], console_port: int | None = None
    ) -> ServiceProcess:
        assert self.keys is not None
        prefix = f"COBUILD_{name.upper()}_"
        # Residents read the public board in the workbench: the evaluation service's own page
        # sends a browser there (a link printed earlier keeps working).
        board = (
            {f"{prefix}BOARD_URL": self._console_url(console_port)}
            if name == "evaluation" and console_port
            else {}
        )
        # Every service verifies the tokens the access service's exchange issues with the keys
        # it publishes, beside the development key file of `cobuild token` (DESIGN §8).
        access_port = ports.get("access")
        jwks = (
            {
                f"{prefix}JWKS_URL": f"http://127.0.0.1:{access_port}/.well-known/jwks.json",
                f"{prefix}JWKS_ISSUER": ACCESS_TOKEN_ISSUER,
            }
            if access_port and name != "access"
            else {}
        )
        # The workbench forwards each browser's address (X-Forwarded-For) on every call: the
        # access service's limits count per address, and the evaluation and escalations
        # services tell a resident's rating from the address that printed the codes. On
        # loopback the workbench is 127.0.0.1, believed only when the launcher runs it (a
        # deployment names its own proxies: COBUILD_<SERVICE>_TRUSTED_PROXIES).
        proxies = (
            {f"{prefix}TRUSTED_PROXIES": "127.0.0.1"}
            if self.config.console_port is not None
            else {}
        )
        data_dir = self.var_dir / "data" / name
        data_dir.mkdir(parents=True, exist_ok=True)
        trust = self.config.public.trust_env() if self.config.public else {}
        if trust and name == "access":  # it checks the provider's TLS with a file of its own
            trust[f"{prefix}PROVIDER_CA_FILE"] = trust["SSL_CERT_FILE"]
        env = {
            **proxies,
            **board,
            **os.environ,
            **trust,
            **self.config.extra_env,
            f"{prefix}HOST": "127.0.0.1",
            f"{prefix}PORT": str(port),
            f"{prefix}DATABASE_URL": self.databases[name],
            f"{prefix}KAFKA_BOOTSTRAP": self.broker.bootstrap,
            f"{prefix}JWT_PUBLIC_KEYS_FILE": str(self.keys.public_keys),
            f"{prefix}DATA_DIR": str(data_dir),
            "COBUILD_CLOCK": self.config.clock,
            "COBUILD_SERVICE": name,
            "PYTHONUNBUFFERED": "1",
            **jwks,
            **(self.identity.service_env(name) if self.identity is not None else {}),
        }
        argv = [sys.executable, "-m", self.config.module_pattern.format(name=name)]
        return ServiceProcess(name, argv, env, port, self.var_dir / "log" / f"{name}.log")

    def _republish(self) -> None:
        if self.info is not None:
            self.info = self._stack_info()
            write_stack_info(self.var_dir, self.info)

    def _stack_info(self) -> StackInfo:
        assert self.keys is not None
        info = self._core_info()
        if self.identity is not None and self.identity.info is not None:
            info["provider"] = self.identity.info
        if self.identity is not None and (mail := self.identity.mail_info()) is not None:
            info["mail"] = mail
        if self.console is not None:
            info["console"] = {
                "url": self.console.url,
                "pid": self.console.pid,
                "log": str(self.console.log_path),
            }
        return info

    def _core_info(self) -> StackInfo:
        assert self.keys is not None
        return {
            "broker": {"bootstrap": self.broker.bootstrap, "pid": self.broker.pid},
            "postgres": {
                "port": self.postgres.port,
                "admin_url": self.postgres.admin_url,
                "pid": self.postgres.pid,
                "data_dir": str(self.postgres.data_dir),
            },
            "databases": dict(self.databases),
            "services": {
                s.name: {"url": s.url, "pid": s.pid, "log": str(s.log_path)}
                for s in self.services.values()
            },
            "keys": {
                "kid": self.keys.kid,
                "private_key": str(self.keys.private_key),
                "public_keys": str(self.keys.public_keys),
            },
            "topics": list(self.config.topics),
            "clock": self.config.clock,
            "launcher": {"pid": os.getpid()},
        }
