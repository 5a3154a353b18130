"""A bound on the size of a request's head (request line and headers), refused with 431.

uvicorn's httptools protocol sets no such bound: a client could send one header of 64 MiB,
which the parser gathers piece by piece on the event loop (seconds of CPU, no token needed)
before any middleware sees the request. Body size is bounded elsewhere (http.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 64 * 1024  # nginx's large_client_header_buffers allow 4 × 8 KiB by default

_REFUSAL_TEXT = b"request head (request line and headers) too large"
REFUSAL = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\n"
    b"content-length: " + str(len(_REFUSAL_TEXT)).encode() + b"\r\n\r\n" + _REFUSAL_TEXT
)


class BoundedHeadProtocol(HttpToolsProtocol):
    """httptools' protocol that counts the bytes of each request's head as they arrive and
    answers 431 (and closes) once they pass `max_head_bytes`."""

    max_head_bytes = MAX_HEAD_BYTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._in_head = True

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes:
                self._refuse()
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # Keep-alive: the next request on this connection starts a new head.
        self._in_head = True
        self._head_bytes = 0

    def _refuse(self) -> None:
        if not self.transport.is_closing():
            self.transport.write(REFUSAL)
            self.transport.close()


def bounded_head(max_head_bytes: int) -> type[asyncio.Protocol]:
    """The protocol class for `uvicorn.run(http=...)` with this bound."""
    return type("BoundedHead", (BoundedHeadProtocol,), {"max_head_bytes": max_head_bytes})
