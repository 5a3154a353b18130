"""The access service against real PostgreSQL and the real broker, with a fake OpenID Connect
issuer on 127.0.0.1: bootstrap → delegated grants → invitation → exchange → revocation, each
change on `access.events.v1`; the exchange's refusals; the keys' rotation; the audit."""

from __future__ import annotations

import asyncio
import csv
import getpass
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import jwt
import pytest_asyncio
import uvicorn
from access_support import (
    AUDIENCE,
    CLIENT_ID,
    CLIENT_SECRET,
    District,
    FakeIssuer,
    KeptMail,
    publish,
    publish_raw,
)
from aiokafka import AIOKafkaConsumer, TopicPartition
from cobuild_access.app import definition
from cobuild_access.settings import AccessSettings
from cobuild_contracts import Role, decode, topics
from cobuild_kit.auth import JwtVerifier, StaticKeys
from cobuild_kit.clock import FixedClock
from cobuild_kit.jwks import public_keys
from cobuild_kit.service import Runtime, create_app
from cobuild_kit.testing import TestIssuer, caught_up, eventually
from cobuild_stack.cli import app as cli
from cobuild_stack.ports import free_port
from cobuild_stack.testing import PgServer, create_topics
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import FastAPI
from typer.testing import CliRunner

from tests.brokers import own_broker

# Its services start new consumer groups (see tests/brokers.py).
kafka_bootstrap = own_broker()

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
OPERATOR = "ops-1"


@dataclass
class Env:
    rt: Runtime[Any]
    http: httpx.AsyncClient
    clock: FixedClock
    dev: TestIssuer
    fake: FakeIssuer
    mail: KeptMail
    district: District
    bootstrap: str
    app: FastAPI
    wall: Wall

    @property
    def operator(self) -> dict[str, str]:
        return self.dev.headers(Role.OPERATOR, UUID(int=0), subject=OPERATOR)

    async def exchange(self, subject: str, grant_id: UUID | None = None, **claims: Any) -> str:
        response = await self.http.post(
            "/exchange",
            json={"subject_token": self.fake.token(subject, **claims),
                  "grant_id": str(grant_id) if grant_id else None},
        )  # fmt: skip
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token


class Wall:
    """The wall clock, which a test may move ahead."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(
    pg_server: PgServer, kafka_bootstrap: str, tmp_path_factory: Any
) -> AsyncIterator[Env]:
    await create_topics(kafka_bootstrap, [t for x in topics.ALL_TOPICS for t in (x, topics.dlq(x))])
    dsn = await pg_server.create_database("access")
    fake, mail, dev, clock, wall = FakeIssuer(), KeptMail(), TestIssuer(), FixedClock(T0), Wall()
    settings = AccessSettings(
        database_url=dsn,
        kafka_bootstrap=kafka_bootstrap,
        data_dir=Path(tmp_path_factory.mktemp("access")),
        outbox_poll_interval_s=0.2,
        provider_issuer=fake.url,
        provider_audiences=[AUDIENCE, CLIENT_ID],
        provider_client_id=CLIENT_ID,
        provider_client_secret=CLIENT_SECRET,
        provider_jwks_min_refetch_s=0.0,
        signing_key_publish_ahead_s=0.0,
        public_url="https://cobuild.example.cn",
    )
    district = District()
    async with fake.served():
        app = create_app(
            definition(settings, verifier=dev.verifier, clock=clock, mailer=mail, wall=wall)
        )
        rt: Runtime[Any] = app.state.runtime
        await rt.start()
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver"
            ) as client:
                await publish(kafka_bootstrap, topics.AGREEMENTS, district.events(), "agreements")

                async def directory_filled() -> bool:
                    async with rt.pool.acquire() as conn:
                        count = await conn.fetchval("SELECT count(*) FROM party_directory")
                        return int(count) == 7

                await eventually(directory_filled)
                yield Env(rt, client, clock, dev, fake, mail, district, kafka_bootstrap, app, wall)
        finally:
            await rt.stop()


async def all_access_events(env: Env) -> list[tuple[str, dict[str, Any]]]:
    """Every event on the access topic now, from the beginning to the end offsets."""
    consumer = AIOKafkaConsumer(bootstrap_servers=env.bootstrap, group_id=None,
                                enable_auto_commit=False, fetch_max_wait_ms=20)  # fmt: skip
    await consumer.start()
    out: list[tuple[str, dict[str, Any]]] = []
    try:
        parts = [TopicPartition(topics.ACCESS, p)
                 for p in sorted(consumer.partitions_for_topic(topics.ACCESS) or ())]  # fmt: skip
        consumer.assign(parts)
        await consumer.seek_to_beginning()
        ends = await consumer.end_offsets(parts)
        while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    envelope, event = decode(record.value)
                    out.append((envelope.event_type, event.model_dump(mode="json")))
    finally:
        await consumer.stop()
    return out


async def district_admin(env: Env, subject: str = "alice") -> tuple[str, UUID]:
    """`subject` bootstrapped district admin of D (once), and a Cobuild token for it."""
    mine = await ok(await env.http.get("/me/grants", headers=bearer(await env.exchange(subject))))
    held = [g for g in mine["items"] if g["role"] == "district_admin"]
    if held:
        grant_id = UUID(held[0]["grant_id"])
    else:
        body = {"subject": subject, "role": "district_admin", "party_id": str(env.district.d)}
        grant = await ok(
            await env.http.post("/bootstrap/grants", json=body, headers=env.operator), 201
        )
        grant_id = UUID(grant["grant_id"])
    return await env.exchange(subject, grant_id, name="Alice 区管理员"), grant_id


async def test_bootstrap_then_delegation_down_the_hierarchy(env: Env) -> None:
    admin, admin_grant = await district_admin(env)
    claims = jwt.decode(admin, options={"verify_signature": False})
    assert claims["role"] == "district_admin" and claims["gid"] == str(admin_grant)
    assert claims["iss"] == "cobuild-access" and claims["exp"] - claims["iat"] == 900
    assert jwt.get_unverified_header(admin)["kid"].startswith("access-")

    # Not the operator's: a district admin may not bootstrap.
    body = {"subject": "mallory", "role": "district_admin", "party_id": str(env.district.d)}
    refused = await env.http.post("/bootstrap/grants", json=body, headers=bearer(admin))
    assert refused.status_code == 403 and "operator" in refused.json()["message"]

    # District admin → street admin of S1; street admin → community admin of C1.
    street = await ok(
        await env.http.post(
            "/grants",
            json={"subject": "bob", "role": "street_admin", "party_id": str(env.district.s1)},
            headers=bearer(admin),
        ),
        201,
    )
    assert street["granted_by"] == "alice" and street["party_name"] == "一街道"
    bob = await env.exchange("bob", UUID(street["grant_id"]))
    worker = await ok(
        await env.http.post(
            "/grants",
            json={"subject": "dora", "role": "community_admin", "party_id": str(env.district.c1)},
            headers=bearer(bob),
        ),
        201,
    )
    # Above oneself, or outside one's street: 403 with the reason, nothing written.
    for role, party, words in [
        ("street_admin", env.district.s1, "may not grant street_admin"),
        ("community_admin", env.district.c2, "is not below street"),
        ("district_admin", env.district.d, "bootstrap"),
    ]:
        response = await env.http.post(
            "/grants", json={"subject": "eve", "role": role, "party_id": str(party)},
            headers=bearer(bob),
        )  # fmt: skip
        assert response.status_code == 403, response.text
        assert words in response.json()["message"]
    # The same grant twice: 409 naming it.
    again = await env.http.post(
        "/grants", json={"subject": "dora", "role": "community_admin",
                         "party_id": str(env.district.c1)}, headers=bearer(bob),
    )  # fmt: skip
    assert again.status_code == 409 and worker["grant_id"] in again.json()["message"]
    # An unknown party: 422 naming it.
    unknown = await env.http.post(
        "/grants", json={"subject": "eve", "role": "street_admin", "party_id": str(uuid4())},
        headers=bearer(admin),
    )  # fmt: skip
    assert unknown.status_code == 422 and unknown.json()["field"] == "body.party_id"

    # Each change is on the topic, keyed by subject; refusals changed nothing.
    ours = {"alice", "bob", "dora", "eve", "mallory"}
    events: list[tuple[str, dict[str, Any]]] = []

    async def published() -> bool:
        nonlocal events
        events = [(t, p) for t, p in await all_access_events(env) if p["subject"] in ours]
        return len(events) >= 3

    await eventually(published, timeout=20)
    # Keyed by subject: ordered per subject, not across them.
    assert sorted((t, p["subject"], p["role"], p["granted_by"]) for t, p in events) == [
        ("grant.added", "alice", "district_admin", OPERATOR),
        ("grant.added", "bob", "street_admin", "alice"),
        ("grant.added", "dora", "community_admin", "bob"),
    ]
    await eventually(lambda: caught_up(env.rt), timeout=30)

    # Lists: the street admin sees its street's grants, not the district's.
    seen = await ok(await env.http.get("/grants", headers=bearer(bob)))
    assert {g["subject"] for g in seen["items"]} == {"bob", "dora"}
    outside = await env.http.get("/grants", params={"party_id": str(env.district.d)},
                                 headers=bearer(bob))  # fmt: skip
    assert outside.status_code == 404
    everything = await ok(await env.http.get("/grants", headers=bearer(admin)))
    assert {"alice", "bob", "dora"} <= {g["subject"] for g in everything["items"]}
    names = {g["subject"]: g["display_name"] for g in everything["items"]}
    assert names["alice"] == "Alice 区管理员"


async def test_invitation_is_single_use_and_expires(env: Env) -> None:
    admin, _ = await district_admin(env)
    street = await ok(await env.http.post(
        "/grants", json={"subject": "frank", "role": "street_admin",
                         "party_id": str(env.district.s1)}, headers=bearer(admin)), 201)  # fmt: skip
    frank = await env.exchange("frank", UUID(street["grant_id"]))

    # Only what one could grant: a street admin cannot invite a street admin.
    refused = await env.http.post(
        "/invitations", json={"role": "street_admin", "party_id": str(env.district.s1)},
        headers=bearer(frank),
    )  # fmt: skip
    assert refused.status_code == 403 and "may not invite" in refused.json()["message"]

    made = await ok(await env.http.post(
        "/invitations", json={"role": "community_admin", "party_id": str(env.district.c3),
                              "email": "grace@example.cn"}, headers=bearer(frank)), 201)  # fmt: skip
    assert made["state"] == "open" and made["mailed"] == "sent"
    link: str = made["link"]
    assert link.startswith("https://cobuild.example.cn/invite/")
    token = link.rsplit("/", 1)[-1]
    assert env.mail.sent[-1].to == "grace@example.cn" and link in env.mail.sent[-1].text
    async with env.rt.pool.acquire() as conn:
        stored = await conn.fetchrow(
            "SELECT token_hash, email FROM invitations WHERE invitation_id = $1",
            UUID(made["invitation_id"]),
        )
    assert (
        token.encode() not in bytes(stored["token_hash"]) and stored["email"] == "grace@example.cn"
    )

    preview = await ok(await env.http.get(f"/invitation-links/{token}"))
    assert preview == {"role": "community_admin", "party_name": "幸福社区",
                       "expires_at": preview["expires_at"], "state": "open"}  # fmt: skip
    svg = await env.http.get(made["qr_svg"])
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    png = await env.http.get(made["qr_png"])
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")

    # Grace signs in (a person token: no grant yet) and accepts: the invitation is her grant.
    grace = await env.exchange("grace", name="Grace")
    person = jwt.decode(grace, options={"verify_signature": False})
    assert person["role"] == "person" and "gid" not in person
    grant = await ok(
        await env.http.post(f"/invitation-links/{token}/accept", headers=bearer(grace))
    )
    assert grant["role"] == "community_admin" and grant["party_id"] == str(env.district.c3)
    assert grant["origin"] == "invitation" and grant["granted_by"] == "frank"
    async with env.rt.pool.acquire() as conn:
        address = await conn.fetchval(
            "SELECT email FROM invitations WHERE invitation_id = $1", UUID(made["invitation_id"])
        )
    assert address is None  # used: the address is gone

    # Used: a second acceptance (by anyone) is a 409.
    twice = await env.http.post(f"/invitation-links/{token}/accept",
                                headers=bearer(await env.exchange("heidi")))  # fmt: skip
    assert twice.status_code == 409 and "already been used" in twice.json()["message"]

    # Expired: 410, and the address of an expired invitation is purged.
    late = await ok(await env.http.post(
        "/invitations", json={"role": "community_admin", "party_id": str(env.district.c1),
                              "email": "ivan@example.cn"}, headers=bearer(frank)), 201)  # fmt: skip
    late_token = late["link"].rsplit("/", 1)[-1]
    # Invitations expire by the wall clock (a link is a credential), not business time.
    env.wall.ahead = timedelta(hours=env.rt.settings.invitation_ttl_h, seconds=1)
    try:
        gone = await env.http.post(f"/invitation-links/{late_token}/accept",
                                   headers=bearer(await env.exchange("ivan")))  # fmt: skip
        assert gone.status_code == 410 and "expired" in gone.json()["message"]
        from cobuild_access.usecases import invitations

        assert await invitations.purge_addresses(env.rt) >= 1
        async with env.rt.pool.acquire() as conn:
            kept = await conn.fetchval(
                "SELECT email FROM invitations WHERE invitation_id = $1",
                UUID(late["invitation_id"]),
            )
        assert kept is None
    finally:
        env.wall.ahead = timedelta(0)

    # The mail server away: the invitation stays open, marked, and a renewal sends a new link
    # (the old one stops working).
    env.mail.fail = True
    try:
        unsent = await ok(await env.http.post(
            "/invitations", json={"role": "community_admin", "party_id": str(env.district.c1),
                                  "email": "judy@example.cn"}, headers=bearer(frank)), 201)  # fmt: skip
    finally:
        env.mail.fail = False
    assert unsent["mailed"] == "failed" and unsent["state"] == "open"
    renewed = await ok(await env.http.post(
        f"/invitations/{unsent['invitation_id']}/renew", headers=bearer(frank)))  # fmt: skip
    assert renewed["mailed"] == "sent" and renewed["link"] != unsent["link"]
    assert env.mail.sent[-1].to == "judy@example.cn" and renewed["link"] in env.mail.sent[-1].text
    old_token = unsent["link"].rsplit("/", 1)[-1]
    assert (await env.http.get(f"/invitation-links/{old_token}")).status_code == 404
    withdrawn = await ok(await env.http.delete(
        f"/invitations/{unsent['invitation_id']}", headers=bearer(frank)))  # fmt: skip
    assert withdrawn["state"] == "withdrawn"
    new_token = renewed["link"].rsplit("/", 1)[-1]
    spent = await env.http.post(f"/invitation-links/{new_token}/accept",
                                headers=bearer(await env.exchange("judy2")))  # fmt: skip
    assert spent.status_code == 410 and "withdrawn" in spent.json()["message"]

    # A made-up link: 404.
    assert (await env.http.get(f"/invitation-links/{'x' * 43}")).status_code == 404


async def test_revocation_publishes_and_stops_the_grant(env: Env) -> None:
    admin, _ = await district_admin(env)
    granted = await ok(await env.http.post(
        "/grants", json={"subject": "judy", "role": "unit_admin",
                         "party_id": str(env.district.u1)}, headers=bearer(admin)), 201)  # fmt: skip
    grant_id = UUID(granted["grant_id"])
    judy = await env.exchange("judy", grant_id)
    assert (await env.http.get("/grants", headers=bearer(judy))).status_code == 200

    revoked = await ok(await env.http.delete(
        f"/grants/{grant_id}", params={"reason": "left the unit"}, headers=bearer(admin)))  # fmt: skip
    assert revoked["revoked_by"] == "alice" and revoked["revoke_reason"] == "left the unit"

    messages: list[tuple[str, dict[str, Any]]] = []

    async def seen() -> bool:
        nonlocal messages
        messages = await all_access_events(env)
        return any(t == "grant.revoked" and p["grant_id"] == str(grant_id) for t, p in messages)

    await eventually(seen, timeout=20)
    revocation = next(p for t, p in messages if t == "grant.revoked")
    assert revocation == {"grant_id": str(grant_id), "subject": "judy", "role": "unit_admin",
                          "party_id": str(env.district.u1), "revoked_by": "alice",
                          "revoked_at": revocation["revoked_at"], "reason": "left the unit"}  # fmt: skip

    # Her token no longer acts here (the grant is checked at home), nor is one exchanged.
    stale = await env.http.get("/grants", headers=bearer(judy))
    assert stale.status_code == 401 and "revoked" in stale.json()["message"]
    again = await env.http.post(
        "/exchange", json={"subject_token": env.fake.token("judy"), "grant_id": str(grant_id)}
    )
    assert again.status_code == 403 and "revoked" in again.json()["message"]
    # Twice: 409.
    twice = await env.http.delete(f"/grants/{grant_id}", params={"reason": "again"},
                                  headers=bearer(admin))  # fmt: skip
    assert twice.status_code == 409


async def test_exchange_refuses_bad_provider_tokens_each_with_its_reason(env: Env) -> None:
    fake = env.fake
    other_key = type(fake.keys[0])("fake-1")  # same kid, another key: a forged signature
    header, payload, _ = fake.token("mallory").split(".")
    cases = {
        "wrong issuer": fake.token("mallory", issuer="https://evil.example"),
        "another audience": fake.token("mallory", audience="someone-else"),
        "expired": fake.token("mallory", ttl=-120),
        "signature does not verify": f"{header}.{payload}.{fake.token('x', key=other_key).split('.')[2]}",
        "unknown key": fake.token("mallory", key=type(fake.keys[0])("nobody-knows")),
        "not active": fake.opaque("some-client", active=False),
    }
    for reason, token in cases.items():
        response = await env.http.post("/exchange", json={"subject_token": token})
        assert response.status_code == 401, (reason, response.text)
        assert reason in response.json()["message"], (reason, response.json())
    async with env.rt.pool.acquire() as conn:
        refused = await conn.fetch(
            "SELECT detail FROM audit WHERE kind = 'exchange' AND outcome = 'refused'"
        )
    for reason in cases:
        assert any(reason in r["detail"] for r in refused), reason

    # Another's grant: 404; none named: a person token of the subject's own party.
    admin_grant = (await district_admin(env))[1]
    theirs = await env.http.post("/exchange", json={
        "subject_token": fake.token("mallory"), "grant_id": str(admin_grant)})  # fmt: skip
    assert theirs.status_code == 404


async def test_provider_key_rotation_and_opaque_tokens(env: Env) -> None:
    # The provider rotates: a token with the new kid makes the service refetch its JWKS.
    before = env.fake.jwks_fetches
    key = env.fake.rotate()
    token = env.fake.token("rotated", key=key)
    response = await env.http.post("/exchange", json={"subject_token": token})
    assert response.status_code == 200, response.text
    assert env.fake.jwks_fetches == before + 1

    # An integration's client-credentials token (opaque): introspected, then its grant.
    admin, _ = await district_admin(env)
    grant = await ok(await env.http.post(
        "/grants", json={"subject": "erp-connector", "role": "service",
                         "party_id": str(env.district.d)}, headers=bearer(admin)), 201)  # fmt: skip
    opaque = env.fake.opaque("erp-connector")
    exchanged = await ok(await env.http.post(
        "/exchange", json={"subject_token": opaque, "grant_id": grant["grant_id"]}))  # fmt: skip
    assert exchanged["role"] == "service" and exchanged["party_id"] == str(env.district.d)
    assert env.fake.introspections >= 1


async def test_jwks_verifies_issued_tokens_and_keys_rotate(env: Env) -> None:
    async def verifier() -> JwtVerifier:
        body = await ok(await env.http.get("/.well-known/jwks.json"))
        keys = {kid: Ed25519PublicKey.from_public_bytes(raw)
                for kid, raw in public_keys(body).items()}  # fmt: skip
        return JwtVerifier(StaticKeys(keys, issuer="cobuild-access"), audience="cobuild")

    old = await env.exchange("kim")
    old_kid = jwt.get_unverified_header(old)["kid"]
    assert (await verifier()).verify(old).subject == "kim"

    refused = await env.http.post("/keys/rotate", headers=bearer(old))
    assert refused.status_code == 403
    rotated = await ok(await env.http.post("/keys/rotate", headers=env.operator))
    assert len(rotated["keys"]) >= 2
    new = await env.exchange("kim")
    new_kid = jwt.get_unverified_header(new)["kid"]
    assert new_kid != old_kid
    both = await verifier()
    assert both.verify(old).subject == both.verify(new).subject == "kim"
    # The old key's tokens still act here until they expire.
    assert (await env.http.get("/me/grants", headers=bearer(old))).status_code == 200


async def test_member_grant_follows_the_accepted_report(env: Env) -> None:
    member_id = uuid4()
    payload = {"member_id": str(member_id), "unit_id": str(env.district.u1),
               "community_id": str(env.district.c1), "grid_id": None,
               "reported_at": T0.isoformat(), "subject": "lin"}  # fmt: skip
    await publish_raw(env.bootstrap, topics.POINTS, "member.reported", str(member_id), payload,
                      "points")  # fmt: skip
    lin = await env.exchange("lin")

    async def granted() -> bool:
        mine = await ok(await env.http.get("/me/grants", headers=bearer(lin)))
        return any(g["role"] == "member" and g["party_id"] == str(member_id) for g in mine["items"])

    await eventually(granted, timeout=20)
    # Without the subject (an older producer): the member is known, no grant is made.
    quiet = uuid4()
    await publish_raw(env.bootstrap, topics.POINTS, "member.reported", str(quiet),
                      {**payload, "member_id": str(quiet)} | {"subject": None}, "points")  # fmt: skip
    # The member leaves: the grant is revoked.
    await publish_raw(env.bootstrap, topics.POINTS, "member.left", str(member_id),
                      {"member_id": str(member_id), "reason": "retired",
                       "left_at": (T0 + timedelta(days=1)).isoformat()}, "points")  # fmt: skip

    async def revoked() -> bool:
        mine = await ok(await env.http.get("/me/grants", headers=bearer(lin)))
        return not any(g["role"] == "member" for g in mine["items"])

    await eventually(revoked, timeout=20)
    async with env.rt.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT subject, active FROM members WHERE member_id = $1", quiet)
    assert row is not None and row["subject"] is None


async def test_audit_is_read_by_the_district_admin_and_append_only(env: Env) -> None:
    admin, _ = await district_admin(env)
    await ok(await env.http.post(
        "/audit/on-behalf", json={"action": "points.report", "party_id": str(uuid4()),
                                  "detail": "report entered at the counter"},
        headers=bearer(admin)), 204)  # fmt: skip
    page = await ok(await env.http.get("/audit", headers=bearer(admin), params={"limit": 500}))
    kinds = {e["kind"] for e in page["items"]}
    assert {"grant.bootstrapped", "grant.added", "sign_in", "exchange", "refusal",
            "on_behalf"} <= kinds  # fmt: skip
    refusal = next(e for e in page["items"] if e["kind"] == "refusal")
    assert refusal["outcome"] == "refused" and refusal["detail"]
    only = await ok(await env.http.get("/audit", headers=bearer(admin),
                                       params={"kind": "on_behalf"}))  # fmt: skip
    assert [e["extra"]["action"] for e in only["items"]] == ["points.report"]

    exported = await env.http.get(
        "/audit.csv", headers=bearer(admin), params={"kind": "grant.added"}
    )
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows and {r["kind"] for r in rows} == {"grant.added"}

    # Not a district admin: 403 (and recorded).
    person = await env.exchange("nosy")
    assert (await env.http.get("/audit", headers=bearer(person))).status_code == 403
    # Append-only, whoever asks the database.
    async with env.rt.pool.acquire() as conn:
        for statement in ("UPDATE audit SET detail = 'x'", "DELETE FROM audit"):
            try:
                await conn.execute(statement)
            except Exception as exc:
                assert "append-only" in str(exc)
            else:
                raise AssertionError(f"{statement} was allowed")


async def test_cli_bootstraps_a_district_admin_through_the_api(env: Env, tmp_path: Path) -> None:
    """`cobuild access grant` against the service over HTTP, with an operator's development
    token minted from the stack's key (here the test issuer's)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(env.app, host="127.0.0.1", port=port,
                                           lifespan="off", log_config=None))  # fmt: skip
    task = asyncio.create_task(server.serve())
    while not server.started:  # uvicorn offers no event for it
        if task.done():
            task.result()  # the bind failed: say why
        await asyncio.sleep(0.01)
    try:
        keys = tmp_path / "keys"
        keys.mkdir()
        (keys / "issuer.pem").write_bytes(env.dev.private_pem)
        (keys / "public.json").write_text("{}")
        info = {"keys": {"kid": env.dev.kid, "private_key": str(keys / "issuer.pem"),
                         "public_keys": str(keys / "public.json")},
                "services": {"access": {"url": f"http://127.0.0.1:{port}", "pid": None,
                                        "log": ""}}}  # fmt: skip
        (tmp_path / "stack.json").write_text(json.dumps(info))
        runner = CliRunner(env={"COLUMNS": "250"})

        def run(*args: str) -> Any:
            return runner.invoke(cli, ["access", "grant", *args, "--var-dir", str(tmp_path)])

        done = await asyncio.to_thread(
            run, "--subject", "zoe", "--role", "district_admin", "--party", str(env.district.d)
        )
        assert done.exit_code == 0, done.output
        assert "granted district_admin" in done.output and "zoe" in done.output
        refused = await asyncio.to_thread(
            run, "--subject", "zoe", "--role", "street_admin", "--party", str(env.district.s1)
        )
        assert refused.exit_code == 1 and "bootstrap grants only" in refused.output
        twice = await asyncio.to_thread(
            run, "--subject", "zoe", "--role", "district_admin", "--party", str(env.district.d)
        )
        assert twice.exit_code == 1 and "HTTP 409" in twice.output
    finally:
        server.should_exit = True
        await task
    async with env.rt.pool.acquire() as conn:
        actor = await conn.fetchval(
            "SELECT actor FROM audit WHERE kind = 'grant.bootstrapped' AND subject = 'zoe'"
        )
    assert actor == f"cli:{getpass.getuser()}"


async def test_members_and_experts_link_their_accounts_by_invitation(env: Env) -> None:
    """A member the points service told of (reported by an admin, no subject) is invited by
    their unit admin; an expert of the directory with no subject by the district admin;
    accepting links the account, and the grant is theirs."""
    admin, _ = await district_admin(env)
    member_id, expert_id = uuid4(), uuid4()
    await publish_raw(env.bootstrap, topics.POINTS, "member.reported", str(member_id),
                      {"member_id": str(member_id), "unit_id": str(env.district.u1),
                       "community_id": str(env.district.c2), "grid_id": None,
                       "reported_at": T0.isoformat()}, "points")  # fmt: skip
    await publish_raw(env.bootstrap, topics.EVALUATION, "expert.registered", str(expert_id),
                      {"expert_id": str(expert_id), "subject": None,
                       "registered_at": T0.isoformat()}, "evaluation")  # fmt: skip

    async def known() -> bool:
        async with env.rt.pool.acquire() as conn:
            m = await conn.fetchval("SELECT count(*) FROM members WHERE member_id = $1", member_id)
            e = await conn.fetchval("SELECT count(*) FROM experts WHERE expert_id = $1", expert_id)
        return bool(m and e)

    await eventually(known, timeout=20)
    unit_grant = await ok(await env.http.post(
        "/grants", json={"subject": "uma", "role": "unit_admin",
                         "party_id": str(env.district.u1)}, headers=bearer(admin)), 201)  # fmt: skip
    uma = await env.exchange("uma", UUID(unit_grant["grant_id"]))
    for role, party, inviter, words in [
        ("member", member_id, admin, "may not invite members"),
        ("expert", expert_id, uma, "a district admin does"),
        ("member", uuid4(), uma, "not known here yet"),
    ]:
        refused = await env.http.post("/invitations", json={"role": role, "party_id": str(party)},
                                      headers=bearer(inviter))  # fmt: skip
        assert refused.status_code == 403 and words in refused.json()["message"], refused.text
    for role, party, inviter, invitee in [
        ("member", member_id, uma, "wei"),
        ("expert", expert_id, admin, "xu"),
    ]:
        made = await ok(await env.http.post(
            "/invitations", json={"role": role, "party_id": str(party)},
            headers=bearer(inviter)), 201)  # fmt: skip
        assert made["mailed"] == "none"
        token = made["link"].rsplit("/", 1)[-1]
        person = await env.exchange(invitee)
        grant = await ok(await env.http.post(f"/invitation-links/{token}/accept",
                                             headers=bearer(person)))  # fmt: skip
        assert grant["role"] == role and grant["party_id"] == str(party)
        as_them = await env.exchange(invitee, UUID(grant["grant_id"]))
        claims = jwt.decode(as_them, options={"verify_signature": False})
        assert claims["role"] == role and claims["party_id"] == str(party)
    async with env.rt.pool.acquire() as conn:
        linked = await conn.fetchval("SELECT subject FROM members WHERE member_id = $1", member_id)
        expert = await conn.fetchval("SELECT subject FROM experts WHERE expert_id = $1", expert_id)
    assert (linked, expert) == ("wei", "xu")

    # An expert registered with their subject: the grant follows at once.
    named = uuid4()
    await publish_raw(env.bootstrap, topics.EVALUATION, "expert.registered", str(named),
                      {"expert_id": str(named), "subject": "yan",
                       "registered_at": T0.isoformat()}, "evaluation")  # fmt: skip
    yan = await env.exchange("yan")

    async def granted() -> bool:
        mine = await ok(await env.http.get("/me/grants", headers=bearer(yan)))
        return any(g["role"] == "expert" and g["party_id"] == str(named) for g in mine["items"])

    await eventually(granted, timeout=20)


async def test_a_registered_member_gets_one_invitation_their_unit_hands_on(env: Env) -> None:
    """`member.registered` issues one open `member` invitation for the member id, on behalf of
    their unit and mailed to nobody; a redelivery (same event) or a second registration event
    issues no other. The unit admin lists it, takes its link, and the person who accepts it
    holds the member grant for that member id. A member already granted gets none."""
    admin, _ = await district_admin(env)
    unit_grant = await ok(await env.http.post(
        "/grants", json={"subject": "ulla", "role": "unit_admin",
                         "party_id": str(env.district.u1)}, headers=bearer(admin)), 201)  # fmt: skip
    ulla = bearer(await env.exchange("ulla", UUID(unit_grant["grant_id"])))
    member_id = uuid4()
    payload = {"member_id": str(member_id), "unit_id": str(env.district.u1),
               "registered_at": T0.isoformat()}  # fmt: skip
    first = await publish_raw(env.bootstrap, topics.POINTS, "member.registered", str(member_id),
                              payload, "points")  # fmt: skip
    await publish_raw(env.bootstrap, topics.POINTS, "member.registered", str(member_id),
                      payload, "points", event_id=first)  # fmt: skip
    second = await publish_raw(env.bootstrap, topics.POINTS, "member.registered", str(member_id),
                               payload, "points")  # fmt: skip

    async def handled(*event_ids: UUID) -> bool:
        async with env.rt.pool.acquire() as conn:
            done = await conn.fetchval(
                "SELECT count(*) FROM inbox WHERE event_id = ANY($1::uuid[])", list(event_ids)
            )
        return bool(done == len(event_ids))

    await eventually(lambda: handled(first, second), timeout=20)
    listed = await ok(await env.http.get(f"/invitations?party_id={env.district.u1}",
                                         headers=ulla))  # fmt: skip
    theirs = [i for i in listed["items"] if i["party_id"] == str(member_id)]
    assert len(theirs) == 1, listed
    (invitation,) = theirs
    assert invitation["role"] == "member" and invitation["state"] == "open"
    assert invitation["mailed"] == "none" and invitation["invited_by"] == "service:points"
    default = await ok(await env.http.get("/invitations", headers=ulla))
    assert [i["invitation_id"] for i in default["items"] if i["party_id"] == str(member_id)] == [
        invitation["invitation_id"]
    ]
    async with env.rt.pool.acquire() as conn:
        count = await conn.fetchval(
            "SELECT count(*) FROM invitations WHERE party_id = $1", member_id
        )
        audited = await conn.fetchval(
            "SELECT count(*) FROM audit WHERE kind = 'invitation.created' AND party_id = $1",
            member_id,
        )
    assert (count, audited) == (1, 1)

    # The unit admin takes a link to hand on; the person signs in and accepts it.
    renewed = await ok(await env.http.post(
        f"/invitations/{invitation['invitation_id']}/renew", headers=ulla))  # fmt: skip
    token = renewed["link"].rsplit("/", 1)[-1]
    person = await env.exchange("mira")
    grant = await ok(await env.http.post(f"/invitation-links/{token}/accept",
                                         headers=bearer(person)))  # fmt: skip
    assert grant["role"] == "member" and grant["party_id"] == str(member_id)
    as_member = await env.exchange("mira", UUID(grant["grant_id"]))
    claims = jwt.decode(as_member, options={"verify_signature": False})
    assert (claims["role"], claims["party_id"], claims["sub"]) == ("member", str(member_id), "mira")
    async with env.rt.pool.acquire() as conn:
        linked = await conn.fetchval("SELECT subject FROM members WHERE member_id = $1", member_id)
    assert linked == "mira"

    # A member who already holds a member grant (their report linked them) is issued nothing.
    granted = uuid4()
    await publish_raw(env.bootstrap, topics.POINTS, "member.reported", str(granted),
                      {"member_id": str(granted), "unit_id": str(env.district.u1),
                       "community_id": str(env.district.c1), "grid_id": None,
                       "reported_at": T0.isoformat(), "subject": "nora"}, "points")  # fmt: skip
    late = await publish_raw(env.bootstrap, topics.POINTS, "member.registered", str(granted),
                             {**payload, "member_id": str(granted)}, "points")  # fmt: skip
    await eventually(lambda: handled(late), timeout=20)
    async with env.rt.pool.acquire() as conn:
        none = await conn.fetchval("SELECT count(*) FROM invitations WHERE party_id = $1", granted)
    assert none == 0
