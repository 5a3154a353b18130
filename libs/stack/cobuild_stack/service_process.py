"""One service child process: spawn, readiness probe, stop."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx

from .errors import StackError
from .ports import LOOPBACK
from .procs import die_with_parent, tail, terminate


class ServiceProcess:
    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        port: int,
        log_path: Path,
        *,
        url: str | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.port = port
        self.log_path = log_path
        self.restarts = 0
        self.proc: asyncio.subprocess.Process | None = None
        # Another address than loopback (the workbench serving TLS on its public host), and
        # what its certificate is checked against.
        self._url = url
        self._verify = verify

    @property
    def url(self) -> str:
        return self._url or f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def log_tail(self, lines: int = 10) -> list[str]:
        return tail(self.log_path, lines)

    async def spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            log.write(f"--- cobuild launcher: starting {self.name} at {stamp} ---\n".encode())
            log.flush()
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=self.env,
                start_new_session=True,  # the launcher decides when and how children stop
                preexec_fn=die_with_parent(),  # and a killed launcher leaves none behind
            )

    async def wait_ready(self, timeout_s: float) -> None:
        """Return once GET /readyz answers 200; StackError if it exits or times out first."""
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        async with httpx.AsyncClient(timeout=2.0, verify=self._verify) as client:
            while True:
                if self.proc is None or self.proc.returncode is not None:
                    code = self.proc.returncode if self.proc else None
                    raise StackError(f"{self.name} exited with code {code} before it was ready")
                try:
                    response = await client.get(f"{self.url}/readyz")
                    if response.status_code == 200:
                        return
                    last = f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    last = type(exc).__name__
                if time.monotonic() > deadline:
                    raise StackError(
                        f"{self.name} not ready after {timeout_s:g}s on {self.url}/readyz "
                        f"(last: {last}); see {self.log_path}"
                    )
                await asyncio.sleep(0.1)

    async def stop(self, timeout_s: float) -> int | None:
        if self.proc is None:
            return None
        return await terminate(self.proc, timeout_s)
