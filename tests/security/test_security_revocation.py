"""Revocation against real PostgreSQL and the real broker: a service verifying tokens against a
JWKS (served from 127.0.0.1, as the access service publishes it) beside the development key
file, two replicas on one database. `grant.revoked` is committed to an outbox and sent by the
kit's relay, as the access service does; from that commit both replicas refuse the grant's
tokens within 5 seconds (the time is measured and printed), and tokens of other grants and
development tokens go on working."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import pytest_asyncio
from cobuild_agreements.app import definition as agreements
from cobuild_commitments.app import definition as commitments
from cobuild_contracts import Role, topics
from cobuild_contracts.events.access import GrantRevoked
from cobuild_evaluation.app import definition as evaluation
from cobuild_kit.auth import generate_keypair, issue_token, load_public_key
from cobuild_kit.jwks import jwk_of
from cobuild_kit.service import Runtime, ServiceDefinition
from cobuild_kit.settings import ServiceSettings
from cobuild_kit.testing import eventually, running_service
from cobuild_points.app import definition as points
from cobuild_points.settings import PointsSettings
from cobuild_stack.testing import PgServer

from tests.brokers import own_broker

ACCESS_ISSUER = "cobuild-access"
BUDGET_S = 5.0


@contextmanager
def jwks_server(jwks: dict[str, Any]) -> Iterator[str]:
    """The access service's `GET /.well-known/jwks.json`, from a thread on 127.0.0.1."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(jwks).encode()
            code = 200 if self.path == "/.well-known/jwks.json" else 404
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


class Keys:
    """An access-service key (published in the JWKS) and a development key (in the file)."""

    def __init__(self, tmp: Path) -> None:
        self.access_private, access_public = generate_keypair()
        self.dev_private, dev_public = generate_keypair()
        self.jwks = {"keys": [jwk_of("access-1", load_public_key(access_public))]}
        self.dev_file = tmp / "public_keys.json"
        self.dev_file.write_text(json.dumps({"dev-1": dev_public.decode()}))

    def access(self, party: UUID, grant: UUID) -> dict[str, str]:
        token = issue_token(private_key_pem=self.access_private, kid="access-1",
                            subject="oidc|worker", role=Role.COMMUNITY_ADMIN, party_id=party,
                            issuer=ACCESS_ISSUER, ttl_seconds=900, grant_id=grant)  # fmt: skip
        return {"authorization": f"Bearer {token}"}

    def dev(self, party: UUID) -> dict[str, str]:
        token = issue_token(private_key_pem=self.dev_private, kid="dev-1",
                            subject="dev", role=Role.COMMUNITY_ADMIN, party_id=party)  # fmt: skip
        return {"authorization": f"Bearer {token}"}


@dataclass
class Stack:
    keys: Keys
    access: Runtime  # commits grant.revoked to its outbox; its relay sends it
    replicas: list[tuple[Runtime, httpx.AsyncClient]]


# The replicas' new groups would read every topic of the suite's shared broker from its start
# (a warm-up measured past 180 s under load, 2 s on a broker of its own); see tests/brokers.py.
kafka_bootstrap = own_broker()


@pytest_asyncio.fixture(loop_scope="session")
async def stack(pg_server: PgServer, kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[Stack]:
    keys = Keys(tmp_path)
    dsn = await pg_server.create_database("revocation")
    access_settings = ServiceSettings(
        database_url=await pg_server.create_database("revoker"), kafka_bootstrap=kafka_bootstrap
    )
    access = ServiceDefinition(
        name="access", settings=access_settings, migrations_package=None, follow_revocations=False
    )
    with jwks_server(keys.jwks) as url:
        settings = PointsSettings(
            database_url=dsn,
            kafka_bootstrap=kafka_bootstrap,
            data_dir=tmp_path / "data",
            jwt_public_keys_file=keys.dev_file,  # `cobuild token` keeps working
            jwks_url=url,
            jwks_issuer=ACCESS_ISSUER,
        )
        async with AsyncExitStack() as running:
            revoker, _ = await running.enter_async_context(running_service(access))
            started = [
                await running.enter_async_context(running_service(points(settings)))
                for _ in range(2)
            ]
            yield Stack(keys, revoker, started)


async def revoke(access: Runtime, grant: UUID) -> None:
    """Returns once the revocation is committed (with its outbox row)."""
    event = GrantRevoked(grant_id=grant, subject="oidc|worker", role=Role.COMMUNITY_ADMIN,
                         party_id=uuid4(), revoked_by="oidc|admin",
                         revoked_at=datetime.now(UTC), reason="left the community")  # fmt: skip
    async with access.unit_of_work() as uow:
        await uow.emit(event)


async def test_a_revoked_grant_is_refused_by_every_replica_within_five_seconds(
    stack: Stack,
) -> None:
    keys, started = stack.keys, stack.replicas
    community = uuid4()
    path = f"/communities/{community}/members"
    grant, other_grant = uuid4(), uuid4()
    for _, client in started:
        for token in (keys.access(community, grant), keys.access(community, other_grant),
                      keys.dev(community)):  # fmt: skip
            answer = await client.get(path, headers=token)
            assert answer.status_code == 200, answer.text

    # Warm the pipeline (each replica's access group joined and fetching) with another
    # grant's revocation, so the measurement is of a revocation, not of a group joining.
    warm = uuid4()
    await revoke(stack.access, warm)

    async def both_know_it() -> bool:
        return all(warm in rt.revoked for rt, _ in started)

    # A warm-up, not the measure: new consumer groups read the access topic from its start,
    # which in the full suite holds every earlier test's grants (the measure starts below).
    await eventually(both_know_it, timeout=180)

    await revoke(stack.access, grant)
    began = time.monotonic()  # from the revocation's commit
    refused_after: list[float] = []
    for _, client in started:
        while True:
            answer = await client.get(path, headers=keys.access(community, grant))
            if answer.status_code == 401:
                refused_after.append(time.monotonic() - began)
                assert "revoked grant" in answer.json()["message"]
                break
            assert answer.status_code == 200, answer.text
            assert time.monotonic() - began < BUDGET_S, "the revoked grant is still accepted"
            await asyncio.sleep(0.05)
    print(  # the measured latency is part of the test's report
        f"\nrevocation refused by replica 1 {refused_after[0]:.3f} s after its commit, "
        f"replica 2 after {refused_after[1]:.3f} s (budget {BUDGET_S:.0f} s)"
    )
    assert max(refused_after) < BUDGET_S

    for _, client in started:  # other grants and development tokens are untouched
        assert (await client.get(path, headers=keys.access(community, other_grant))).is_success
        assert (await client.get(path, headers=keys.dev(community))).is_success


@pytest.mark.parametrize("definition", [agreements, commitments, points, evaluation])
def test_every_service_follows_revocations(definition: Any) -> None:
    consumers = definition().all_consumers()
    assert [c.topics for c in consumers if c.purpose == "access"] == [[topics.ACCESS]]
