"""A service started with exactly the environment compose gives it, hosts mapped to the test stack.

Containers cannot run here, so the proof is the configuration itself: `python -m
cobuild_agreements` with compose's variables (only the addresses of PostgreSQL and Kafka, the
port and the mounted paths rewritten) becomes ready, and so does the keygen job's output.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from cobuild_stack.ports import free_port
from cobuild_stack.procs import tail, terminate
from cobuild_stack.testing import PgServer, TestBackends
from cobuild_stack.topics import create_topics, suite_topics
from deploy_support import ROOT, compose_env

SERVICE = "agreements"
PREFIX = f"COBUILD_{SERVICE.upper()}_"


def _keygen(compose: dict[str, Any], root: Path) -> Path:
    """Run the keygen job's command, with its volume paths under `root`; the public keys file."""
    command = [str(arg) for arg in compose["services"]["keygen"]["command"]]
    remapped = [str(root / arg.lstrip("/")) if arg.startswith("/") else arg for arg in command]
    script = ROOT / "deploy" / "docker" / "devkeys.py"
    subprocess.run([sys.executable, str(script), *remapped], check=True, capture_output=True)
    return root / "run/cobuild/keys/public-keys.json"


def _token(issuer_dir: Path, role: str = "district_admin") -> str:
    script = ROOT / "deploy" / "docker" / "devkeys.py"
    if not (issuer_dir / "dev-issuer.pem").exists():
        subprocess.run([sys.executable, str(script), "ensure", str(issuer_dir)], check=True)
    argv = ["token", str(issuer_dir), "--role", role, "--party", str(uuid.uuid4())]
    done = subprocess.run(
        [sys.executable, str(script), *argv], check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _map_hosts(env: dict[str, str], *, dsn: str, bootstrap: str, port: int) -> dict[str, str]:
    mapped = dict(env)
    compose_url = urlsplit(env[f"{PREFIX}DATABASE_URL"])
    test_db = urlsplit(dsn)
    # Same scheme and options as compose; the test server's address, role and database.
    mapped[f"{PREFIX}DATABASE_URL"] = urlunsplit(
        (compose_url.scheme, test_db.netloc, test_db.path, compose_url.query, "")
    )
    mapped[f"{PREFIX}KAFKA_BOOTSTRAP"] = bootstrap
    mapped[f"{PREFIX}PORT"] = str(port)
    # The access service's JWKS, at an address where nothing answers: a service must start,
    # and verify the development keys' tokens, while the access service is not up yet.
    jwks = urlsplit(env[f"{PREFIX}JWKS_URL"])
    mapped[f"{PREFIX}JWKS_URL"] = urlunsplit(
        (jwks.scheme, f"127.0.0.1:{free_port()}", jwks.path, jwks.query, "")
    )
    return mapped


async def test_agreements_runs_with_the_compose_environment(
    compose: dict[str, Any],
    pg_server: PgServer,
    kafka_bootstrap: str,
    cobuild_backends: TestBackends,
    tmp_path: Path,
) -> None:
    env = compose_env(compose["services"][SERVICE])
    topics_env = compose_env(compose["services"]["topics"])
    await create_topics(kafka_bootstrap, suite_topics(), partitions=int(topics_env["PARTITIONS"]))
    dsn = await pg_server.create_database(f"deploy_{SERVICE}")
    port = free_port()
    mapped = _map_hosts(env, dsn=dsn, bootstrap=kafka_bootstrap, port=port)
    # Mounted paths: the keygen volume and the data volume, under tmp_path.
    keys_file = _keygen(compose, tmp_path / "volumes")
    assert env[f"{PREFIX}JWT_PUBLIC_KEYS_FILE"] == "/" + str(
        keys_file.relative_to(tmp_path / "volumes")
    )
    mapped[f"{PREFIX}JWT_PUBLIC_KEYS_FILE"] = str(keys_file)
    mapped[f"{PREFIX}DATA_DIR"] = str(tmp_path / "data")
    if cobuild_backends.backend.get("kafka") == "embedded":
        # Tansu has no InitProducerId: the one setting real Kafka needs and Tansu cannot take.
        assert mapped[f"{PREFIX}KAFKA_IDEMPOTENCE"] == "true"
        mapped[f"{PREFIX}KAFKA_IDEMPOTENCE"] = "false"
    unmapped = {
        k: v for k, v in mapped.items() if any(h in v for h in ("kafka:", "-db:", "access:"))
    }
    assert not unmapped, f"compose hosts left unmapped: {unmapped}"

    log_path = tmp_path / f"{SERVICE}.log"
    process_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **mapped}
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            f"cobuild_{SERVICE}",
            env=process_env,
            cwd=tmp_path,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=3) as client:
            ready = await _wait_ready(client, proc, log_path, timeout_s=60)
            assert ready["checks"] == {"database": "ok", "outbox": "ok", "broker": "ok"}
            assert (await client.get("/healthz")).status_code == 200
            operator = _token(keys_file.parents[3] / "var/lib/cobuild-issuer", role="operator")
            lag = await client.get("/ops/lag", headers=_bearer(operator))
            assert lag.status_code == 200 and lag.json()["outbox_backlog"] == 0
            # The service verifies with the keygen job's public keys: its issuer's token passes
            # authentication, a stranger's does not.
            path = f"/agreements/{uuid.uuid4()}"
            ours = _token(keys_file.parents[3] / "var/lib/cobuild-issuer")
            theirs = _token(tmp_path / "stranger")
            assert (await client.get(path, headers=_bearer(ours))).status_code not in {401, 500}
            assert (await client.get(path, headers=_bearer(theirs))).status_code == 401
    finally:
        await terminate(proc, 10)


async def _wait_ready(
    client: httpx.AsyncClient, proc: asyncio.subprocess.Process, log_path: Path, timeout_s: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            raise AssertionError(f"exited with {proc.returncode}: {tail(log_path, 20)}")
        try:
            response = await client.get("/readyz")
            if response.status_code == 200:
                body: dict[str, Any] = response.json()
                return body
            last = f"HTTP {response.status_code}: {response.text}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        await asyncio.sleep(0.2)
    raise AssertionError(f"not ready in {timeout_s}s (last: {last}): {tail(log_path, 20)}")
