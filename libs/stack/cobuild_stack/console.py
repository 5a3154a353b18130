"""The workbench (services/console) as the launcher runs it: one more process beside the
services, with no database and no broker of its own. It is told the services' and the access
service's URLs, and (by the identity side, `EmbeddedIdentity.service_env("console")`) the
provider's issuer and its client id. It is published in var/stack.json under "console", not
among "services": the operator commands (lag, replay, metrics) speak to the services only."""

from __future__ import annotations

import json
import os
import ssl
import sys
from collections.abc import Mapping
from pathlib import Path

from .ports import LOOPBACK
from .public import ALL_INTERFACES, PublicAddress
from .service_process import ServiceProcess

NAME = "console"
DEFAULT_PORT = 8100
# The services whose APIs the workbench calls (the access service has a setting of its own).
CALLED = ("agreements", "commitments", "points", "evaluation", "escalations", "notifications")


def console_port_from_env(env: Mapping[str, str] | None = None) -> int | None:
    """COBUILD_CONSOLE_PORT (default 8100, 0: a free port); COBUILD_CONSOLE=0: no workbench."""
    env = os.environ if env is None else env
    if env.get("COBUILD_CONSOLE", "").strip() == "0":
        return None
    raw = env.get("COBUILD_CONSOLE_PORT", "").strip()
    return int(raw) if raw else DEFAULT_PORT


def console_process(
    var_dir: Path,
    port: int,
    service_ports: Mapping[str, int],
    *,
    clock: str,
    extra_env: Mapping[str, str] | None = None,
    public: PublicAddress | None = None,
) -> ServiceProcess:
    """The console's process: `python -m cobuild_console` on 127.0.0.1:`port`, or, given a
    public address with a certificate, serving TLS on all interfaces."""
    urls = {name: f"http://{LOOPBACK}:{p}" for name, p in service_ports.items()}
    env = {
        **os.environ,
        **(extra_env or {}),
        "COBUILD_CONSOLE_HOST": LOOPBACK,
        "COBUILD_CONSOLE_PORT": str(port),
        "COBUILD_CONSOLE_SERVICE_URLS": json.dumps({n: u for n, u in urls.items() if n in CALLED}),
        "COBUILD_CLOCK": clock,
        "COBUILD_SERVICE": NAME,
        "PYTHONUNBUFFERED": "1",
    }
    if "access" in urls:
        env["COBUILD_CONSOLE_ACCESS_URL"] = urls["access"]
    env.setdefault("COBUILD_CONSOLE_PUBLIC_URL", f"http://{LOOPBACK}:{port}")
    argv = [sys.executable, "-m", "cobuild_console"]
    log = var_dir / "log" / f"{NAME}.log"
    if public is None or not public.tls:
        return ServiceProcess(NAME, argv, env, port, log)
    env |= {
        "COBUILD_CONSOLE_HOST": ALL_INTERFACES,
        "COBUILD_CONSOLE_PUBLIC_URL": public.url,
        "COBUILD_CONSOLE_TLS_CERT_FILE": str(public.tls_cert),
        "COBUILD_CONSOLE_TLS_KEY_FILE": str(public.tls_key),
        **public.trust_env(),
    }
    trusted = ssl.create_default_context(cafile=str(public.tls_cert))
    return ServiceProcess(NAME, argv, env, port, log, url=public.url, verify=trusted)
