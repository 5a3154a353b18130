"""A minimal keep-alive HTTP/1.1 client for the command-driving steps of the benchmark.

The driver shares the cores with the services it measures, so its own cost per request
counts. httpx's pool dispatch scans every waiting request against every connection on each
request, which takes CPU from the services under test (what it cost: bench/FINDINGS.md,
"Latency"). Here each request borrows an idle connection from a queue: a write and a read.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit


class Http1Pool:
    """`size` persistent connections to one origin; requests wait for a free one."""

    def __init__(self, base_url: str, size: int) -> None:
        parts = urlsplit(base_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._size = size
        self._opened = 0
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )

    async def post(self, path: str, headers: dict[str, str], body: Any = None) -> tuple[int, bytes]:
        """(status, body) of a POST with a JSON body (none when `body` is None)."""
        payload = b"" if body is None else json.dumps(body).encode()
        head = [f"POST {path} HTTP/1.1", f"host: {self._host}:{self._port}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None:
            head.append("content-type: application/json")
        head.append(f"content-length: {len(payload)}")
        request = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
        reader, writer = await self._borrow()
        try:
            writer.write(request)
            status, answer = await _read_response(reader)
        except BaseException:
            writer.close()
            self._opened -= 1
            raise
        self._idle.put_nowait((reader, writer))
        return status, answer

    async def _borrow(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        # The server closes a keep-alive connection idle longer than its timeout (uvicorn: 5 s);
        # a POST written to it fails, and a POST must not be retried, so skip those first.
        while not self._idle.empty():
            reader, writer = self._idle.get_nowait()
            if not reader.at_eof():
                return reader, writer
            writer.close()
            self._opened -= 1
        if self._opened < self._size:
            self._opened += 1
            try:
                return await asyncio.open_connection(self._host, self._port)
            except BaseException:
                self._opened -= 1
                raise
        return await self._idle.get()

    async def aclose(self) -> None:
        while not self._idle.empty():
            _, writer = self._idle.get_nowait()
            writer.close()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding":  # the command endpoints answer with a length
            raise ValueError(f"unsupported transfer-encoding: {value.strip()}")
    return status, await reader.readexactly(length) if length else b""
