"""The real service process (`python -m cobuild_commitments`, as the launcher starts it): a signed
agreement flows through to commitment.fulfilled and commitment.overdue on Kafka."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from datetime import date, timedelta
from pathlib import Path
from uuid import uuid4

import httpx
from cobuild_contracts import Role
from cobuild_kit.auth import generate_keypair, issue_token
from cobuild_kit.clock import write_clock_file
from cobuild_kit.testing import eventually
from commitments_support import T0, envelope, item, of_type, publish, signed, topic_events


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_signed_to_fulfilled_and_overdue_with_the_real_process(
    pg_server: object, kafka_bootstrap: str, tmp_path: Path
) -> None:
    dsn = await pg_server.create_database("commitments_process")  # type: ignore[attr-defined]
    private_pem, public_pem = generate_keypair()
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"e2e": public_pem.decode()}))
    clock_file = tmp_path / "clock"
    write_clock_file(clock_file, T0)
    port = free_port()
    env = {
        **os.environ,
        "COBUILD_COMMITMENTS_HOST": "127.0.0.1",
        "COBUILD_COMMITMENTS_PORT": str(port),
        "COBUILD_COMMITMENTS_DATABASE_URL": dsn,
        "COBUILD_COMMITMENTS_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "COBUILD_COMMITMENTS_JWT_PUBLIC_KEYS_FILE": str(keys),
        "COBUILD_COMMITMENTS_DATA_DIR": str(tmp_path / "data"),
        "COBUILD_COMMITMENTS_CONSUMER_SESSION_TIMEOUT_MS": "4000",
        "COBUILD_CLOCK": f"file:{clock_file}",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cobuild_commitments", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip

    def auth(role: Role, party: object) -> dict[str, str]:
        token = issue_token(
            private_key_pem=private_pem, kid="e2e", subject=f"{role}:{party}", role=role,
            party_id=str(party),
        )  # fmt: skip
        return {"Authorization": f"Bearer {token}"}

    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:

            async def ready() -> bool:
                try:
                    return (await http.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, timeout=30, interval=0.2)
            community, unit = uuid4(), uuid4()
            done = item(unit, community, date(2025, 3, 10), title="Legal advice sessions")
            late = item(unit, community, date(2025, 3, 5), title="Clean the courtyard")
            await publish(kafka_bootstrap, envelope(signed(community, unit, [done, late])))
            unit_admin, community_admin = (
                auth(Role.UNIT_ADMIN, unit),
                auth(Role.COMMUNITY_ADMIN, community),
            )

            async def opened() -> bool:
                r = await http.get(f"/commitments/{done.commitment_id}", headers=unit_admin)
                return r.status_code == 200

            await eventually(opened, timeout=30)
            cid = done.commitment_id
            for path, body in [("claim", None), ("progress", {"percent": 50}), ("done", {})]:
                r = await http.post(f"/commitments/{cid}/{path}", json=body, headers=unit_admin)
                assert r.status_code == 200, (path, r.text)
            r = await http.post(f"/commitments/{cid}/confirm", headers=community_admin)
            assert r.status_code == 200 and r.json()["status"] == "fulfilled"

            write_clock_file(clock_file, T0 + timedelta(days=6))  # 2025-03-07: `late` is overdue

            async def flagged() -> bool:
                r = await http.get(f"/commitments/{late.commitment_id}", headers=unit_admin)
                return bool(r.json()["overdue"])

            await eventually(flagged, timeout=20)

            async def published() -> bool:
                lag = await http.get("/ops/lag", headers=auth(Role.OPERATOR, uuid4()))
                return bool(lag.json()["outbox_backlog"] == 0)

            await eventually(published, timeout=20)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()

    out = await topic_events(kafka_bootstrap, [done.commitment_id, late.commitment_id])
    assert len(of_type(out, "commitment.opened")) == 2
    fulfilled = of_type(out, "commitment.fulfilled", done.commitment_id)
    assert len(fulfilled) == 1 and fulfilled[0].payload["on_time"] is True
    overdue = of_type(out, "commitment.overdue", late.commitment_id)
    assert len(overdue) == 1 and overdue[0].payload["deadline"] == "2025-03-05"
    assert of_type(out, "commitment.overdue", done.commitment_id) == []
