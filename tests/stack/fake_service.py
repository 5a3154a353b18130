"""A stand-in for a Cobuild service, for launcher tests: stdlib HTTP on COBUILD_<NAME>_PORT.

FAKE_<NAME>=never_ready makes /readyz answer 503. GET /crash exits with code 3.
GET /env returns the COBUILD_ environment it was started with.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType

NAME = os.environ["COBUILD_SERVICE"]
PREFIX = f"COBUILD_{NAME.upper()}_"
BEHAVIOUR = os.environ.get(f"FAKE_{NAME.upper()}", "ok")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/crash":
            print(f"fake crash: {NAME} goes down", file=sys.stderr, flush=True)
            os._exit(3)
        if self.path == "/healthz":
            self._answer(200, {"status": "ok"})
        elif self.path == "/readyz":
            ready = BEHAVIOUR != "never_ready"
            self._answer(200 if ready else 503, {"ready": ready})
        elif self.path == "/env":
            self._answer(200, {k: v for k, v in os.environ.items() if k.startswith("COBUILD_")})
        else:
            self._answer(404, {"error": "not found"})

    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    server = ThreadingHTTPServer(
        (os.environ[PREFIX + "HOST"], int(os.environ[PREFIX + "PORT"])), Handler
    )

    def on_term(signum: int, frame: FrameType | None) -> None:
        print(f"fake service {NAME} stopping on SIGTERM", flush=True)
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, on_term)
    print(f"fake service {NAME} listening on {server.server_address}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
