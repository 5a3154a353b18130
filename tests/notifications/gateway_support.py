"""A stand-in gateway for the channels that go through apprise (SMS, WeCom, DingTalk, WeChat):
an HTTP server on 127.0.0.1 in a thread of its own that keeps every request apprise makes
(path, query and JSON body), answers with `status`, and can be slow (`delay_s`), so tests see
what would have left the machine without any internet."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Posted:
    path: str
    query: dict[str, list[str]]
    body: dict[str, Any]


class Gateway:
    def __init__(self) -> None:
        self.posted: list[Posted] = []
        self.lock = threading.Lock()
        self.status = 200
        self.delay_s = 0.0
        self.in_flight = 0
        self.most_in_flight = 0  # the most requests handled at once (senders overlapping)
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                with gateway.lock:
                    gateway.in_flight += 1
                    gateway.most_in_flight = max(gateway.most_in_flight, gateway.in_flight)
                try:
                    if gateway.delay_s:
                        time.sleep(gateway.delay_s)
                    length = int(self.headers.get("Content-Length") or 0)
                    raw = self.rfile.read(length) if length else b"{}"
                    url = urlsplit(self.path)
                    posted = Posted(url.path, parse_qs(url.query), json.loads(raw or b"{}"))
                    with gateway.lock:
                        if gateway.status < 300:
                            gateway.posted.append(posted)
                    self.send_response(gateway.status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"ok": true}')
                finally:
                    with gateway.lock:
                        gateway.in_flight -= 1

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        """An apprise URL posting JSON here, the address in the body's `to`."""
        return f"json://127.0.0.1:{self.port}{path}?:to={{address}}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def to(self, address: str, path: str | None = None) -> list[Posted]:
        with self.lock:
            return [
                p
                for p in self.posted
                if p.body.get("to") == address and (path is None or p.path == path)
            ]
