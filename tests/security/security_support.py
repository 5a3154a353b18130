"""The four services in one process on the session's real PostgreSQL and broker, a seeded world
of places, parties, members and commitments, and helpers the security tests share.

Every service runs from its own `definition()` with a shared TestIssuer and FixedClock, so the
same token works across the suite, as the development issuer's would.
"""

from __future__ import annotations

import asyncio
import io
import logging
import secrets
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import structlog
from cobuild_contracts import Role
from cobuild_kit.actor import person_party_id
from cobuild_kit.clock import FixedClock
from cobuild_kit.service import Runtime, ServiceDefinition, create_app
from cobuild_kit.testing import TestIssuer, caught_up, eventually
from cobuild_stack.testing import PgServer
from cobuild_stack.topics import create_topics, suite_topics

NOW = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 on 2025-03-01 in Asia/Shanghai
YEAR = 2025
SERVICES = ("agreements", "commitments", "points", "evaluation")
# Distinctive personal data: the PII scan looks for these bytes everywhere outside points.
M1_NAME = "冼秘密甲"
PNG = (  # a 1x1 PNG: evidence must be an image or a PDF
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00"
    b"\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05"
    b"\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
M2_NAME = "Zyxwvut Qqsecret"


class LogTap:
    """Every log line of the process (structlog and stdlib) copied into one buffer.

    structlog loggers are cached on first use with the stdout of that moment, so the tap
    patches the PrintLogger class (every cached instance) rather than its factory."""

    _METHODS = ("msg", "log", "debug", "info", "warn", "warning", "err", "error",
                "critical", "exception", "fatal", "failure")  # fmt: skip

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self._saved: dict[str, Any] = {}
        self._handler = logging.StreamHandler(self.buffer)

    def start(self) -> None:
        tap = self.buffer

        def msg(logger: structlog.PrintLogger, message: str) -> None:
            tap.write(message + "\n")
            print(message, file=sys.stdout)

        for name in self._METHODS:
            if hasattr(structlog.PrintLogger, name):
                self._saved[name] = getattr(structlog.PrintLogger, name)
                setattr(structlog.PrintLogger, name, msg)
        root = logging.getLogger()
        if root.handlers:
            self._handler.setFormatter(root.handlers[0].formatter)
        root.addHandler(self._handler)

    def stop(self) -> None:
        for name, method in self._saved.items():
            setattr(structlog.PrintLogger, name, method)
        logging.getLogger().removeHandler(self._handler)

    def text(self) -> str:
        return self.buffer.getvalue()


@dataclass
class Suite:
    rts: dict[str, Runtime]
    clients: dict[str, httpx.AsyncClient]
    apps: dict[str, Any]
    issuer: TestIssuer
    bootstrap: str
    data_dirs: dict[str, Path]
    logs: LogTap

    def h(self, role: Role, party: UUID, subject: str | None = None) -> dict[str, str]:
        return self.issuer.headers(role, party, subject=subject)

    async def call(
        self, service: str, method: str, url: str, role: Role | None = None,
        party: UUID | None = None, **kw: Any,
    ) -> httpx.Response:  # fmt: skip
        headers = dict(kw.pop("headers", {}) or {})
        if role is not None and party is not None:
            headers.update(self.h(role, party))
        return await self.clients[service].request(method, url, headers=headers, **kw)

    async def ok(
        self, service: str, method: str, url: str, role: Role, party: UUID, **kw: Any
    ) -> Any:
        r = await self.call(service, method, url, role, party, **kw)
        assert r.status_code < 300, (service, method, url, r.status_code, r.text)
        return r.json()

    async def outbox_counts(self) -> dict[str, int]:
        out = {}
        for name, rt in self.rts.items():
            async with rt.pool.acquire() as conn:
                out[name] = int(await conn.fetchval("SELECT count(*) FROM outbox"))
        return out

    async def settled(self) -> None:
        async def all_caught_up() -> bool:
            for rt in self.rts.values():
                if not await caught_up(rt):
                    return False
            return True

        await eventually(all_caught_up, timeout=40, interval=0.2)


def _definition(name: str) -> ServiceDefinition:
    module = __import__(f"cobuild_{name}.app", fromlist=["definition"])
    return module.definition()  # type: ignore[no-any-return]


def _settings(name: str, **values: Any) -> Any:
    module = __import__(f"cobuild_{name}.settings", fromlist=["x"])
    cls = getattr(module, f"{name.title()}Settings")
    return cls(**values)


@asynccontextmanager
async def running_suite(
    pg: PgServer, bootstrap: str, tmp: Path, **overrides: dict[str, Any]
) -> AsyncIterator[Suite]:
    """Start the four services (pool, migrations, relay, consumers) and ASGI clients on them.

    `overrides[name]` are extra settings values of that service."""
    await create_topics(bootstrap, suite_topics())
    issuer, clock = TestIssuer(), FixedClock(NOW)
    rts: dict[str, Runtime] = {}
    clients: dict[str, httpx.AsyncClient] = {}
    apps: dict[str, Any] = {}
    dirs: dict[str, Path] = {}
    logs = LogTap()
    async with AsyncExitStack() as stack:
        for name in SERVICES:
            dsn = await pg.create_database(f"sec_{name}")
            dirs[name] = tmp / name
            dirs[name].mkdir(parents=True, exist_ok=True)
            settings = _settings(
                name,
                database_url=dsn,
                kafka_bootstrap=bootstrap,
                data_dir=dirs[name],
                outbox_poll_interval_s=0.2,
                **overrides.get(name, {}),
            )
            svc = replace(
                _definition(name), settings=settings, verifier=issuer.verifier, clock=clock
            )
            apps[name] = create_app(svc)
            rts[name] = apps[name].state.runtime
            clients[name] = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=apps[name]), base_url="http://testserver"
            )
            stack.push_async_callback(clients[name].aclose)
        # Consumer group joins take seconds each on Tansu: start the four at once.
        await asyncio.gather(*(rt.start() for rt in rts.values()))
        for rt in rts.values():
            stack.push_async_callback(rt.stop)
        logs.start()  # after every configure_logging call, so the root handler is final
        stack.callback(logs.stop)
        yield Suite(rts, clients, apps, issuer, bootstrap, dirs, logs)


# -- the seeded world -------------------------------------------------------------------


@dataclass
class World:
    """Own parties (D, S, C, U, M, E) and other parties of the same kinds (d, s, c, u, m, e).

    S supervises C; U is paired with C; M works for U and serves in C; E is assigned to K1.
    s, c, u, m are a second street/community/unit/member under the same district; d is
    another district and supervises nothing here."""

    D: UUID = field(default_factory=uuid4)
    d: UUID = field(default_factory=uuid4)
    S: UUID = field(default_factory=uuid4)
    s: UUID = field(default_factory=uuid4)
    C: UUID = field(default_factory=uuid4)
    c: UUID = field(default_factory=uuid4)
    U: UUID = field(default_factory=uuid4)
    u: UUID = field(default_factory=uuid4)
    M: UUID = field(default_factory=uuid4)
    m: UUID = field(default_factory=uuid4)
    E: UUID = field(default_factory=uuid4)
    e: UUID = field(default_factory=uuid4)
    need: UUID = field(default_factory=uuid4)
    resource: UUID = field(default_factory=uuid4)
    agreement: UUID = field(default_factory=uuid4)
    k1: UUID = field(default_factory=uuid4)  # fulfilled
    k2: UUID = field(default_factory=uuid4)  # open
    evidence: UUID = field(default_factory=uuid4)
    activity: UUID = field(default_factory=uuid4)
    wish: UUID = field(default_factory=uuid4)
    entry: UUID = field(default_factory=uuid4)
    alliance: UUID = field(default_factory=uuid4)  # street S's, unit U a member
    meeting: UUID = field(default_factory=uuid4)  # the alliance's first joint meeting
    # Provider subjects of two people signed in with no grant yet (role person): a person's
    # party is derived from their subject (cobuild_kit.actor.person_party_id).
    person: str = field(default_factory=lambda: f"person-{uuid.uuid4().hex[:8]}")
    other_person: str = field(default_factory=lambda: f"person-{uuid.uuid4().hex[:8]}")
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    phones: tuple[str, str] = field(default_factory=lambda: (new_phone(), new_phone()))

    def party(self, role: Role, own: bool) -> UUID:
        if role is Role.PERSON:
            return person_party_id(self.subject(role, own) or "")
        if role is Role.SERVICE:  # an integration acts for the district
            return self.D if own else self.d
        letter = {
            Role.DISTRICT_ADMIN: "D", Role.STREET_ADMIN: "S", Role.COMMUNITY_ADMIN: "C",
            Role.UNIT_ADMIN: "U", Role.MEMBER: "M", Role.EXPERT: "E",
        }[role]  # fmt: skip
        return getattr(self, letter if own else letter.lower())  # type: ignore[no-any-return]

    def subject(self, role: Role, own: bool) -> str | None:
        """The token's subject: a person's is the one their party derives from; None lets the
        issuer make one up (the other roles' parties do not depend on it)."""
        if role is Role.PERSON:
            return self.person if own else self.other_person
        return None


def new_phone() -> str:
    return "139" + "".join(secrets.choice("0123456789") for _ in range(8))


def need_body(community: UUID, **kw: Any) -> dict[str, Any]:
    body = {
        "community_id": str(community), "category": "happy_compound", "kind": "task",
        "title": "楼道照明改造", "quantity": 48, "quantity_unit": "lamps",
        "funds_fen": 1_850_000, "wanted_by": "2025-06-30", "beneficiaries": 120,
    }  # fmt: skip
    body.update(kw)
    return body


def resource_body(unit: UUID, **kw: Any) -> dict[str, Any]:
    body = {
        "unit_id": str(unit), "category": "happy_compound", "kind": "task",
        "title": "电工志愿服务", "capacity": 10, "capacity_unit": "sessions",
        "available_from": "2025-03-01", "available_until": "2025-12-31",
    }  # fmt: skip
    body.update(kw)
    return body


def item(w: World, commitment_id: UUID | None = None, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "楼道照明改造", "kind": "task", "category": "happy_compound",
        "obligor_party_id": str(w.U), "beneficiary_party_id": str(w.C),
        "responsible_title": "机关党委书记", "deadline": "2025-06-30", "funds_fen": 10_000,
    }  # fmt: skip
    if commitment_id:
        body["commitment_id"] = str(commitment_id)
    body.update(kw)
    return body


def member_body(w: World, name: str, phone: str, unit: UUID, community: UUID) -> dict[str, Any]:
    return {"name": name, "phone": phone, "unit_id": str(unit), "community_id": str(community)}


async def build_world(s: Suite) -> World:
    w = World()
    D, S, C, U = Role.DISTRICT_ADMIN, Role.STREET_ADMIN, Role.COMMUNITY_ADMIN, Role.UNIT_ADMIN
    ag = "agreements"

    async def party(role: Role, actor: UUID, pid: UUID, kind: str, parent: UUID | None,
                    name: str, **kw: Any) -> None:  # fmt: skip
        body = {"party_id": str(pid), "kind": kind, "name": f"{name} {w.tag}", **kw}
        if parent:
            body["parent_id"] = str(parent)
        await s.ok(ag, "POST", "/parties", role, actor, json=body)

    await party(D, w.D, w.D, "district", None, "河西区")
    await party(D, w.d, w.d, "district", None, "河东区")
    await party(D, w.D, w.S, "street", w.D, "和平街道")
    await party(D, w.D, w.s, "street", w.D, "友谊街道")
    await party(S, w.S, w.C, "community", w.S, "和兴社区")
    await party(S, w.s, w.c, "community", w.s, "友谊社区")
    await party(D, w.D, w.U, "unit", w.D, "区司法局", unit_type="government_office",
                paired_community_ids=[str(w.C)])  # fmt: skip
    await party(D, w.D, w.u, "unit", w.D, "星辰科技", unit_type="enterprise",
                paired_community_ids=[str(w.c)])  # fmt: skip
    w.need = UUID((await s.ok(ag, "POST", "/needs", C, w.C, json=need_body(w.C)))["need_id"])
    w.resource = UUID(
        (await s.ok(ag, "POST", "/resources", U, w.U, json=resource_body(w.U)))["resource_id"]
    )
    alliance = {"host_party_id": str(w.S), "name": f"和平街道党建联盟 {w.tag}",
                "formed_on": "2025-01-06", "member_unit_ids": [str(w.U)]}  # fmt: skip
    w.alliance = UUID((await s.ok(ag, "POST", "/alliances", S, w.S, json=alliance))["alliance_id"])
    meeting = {"held_on": "2025-01-06", "title": "第一次联席会议"}
    held = await s.ok(ag, "POST", f"/alliances/{w.alliance}/meetings", S, w.S, json=meeting)
    w.meeting = UUID(held["meeting_id"])
    proposal = {
        "community_id": str(w.C), "unit_id": str(w.U), "term_start": "2025-03-01",
        "term_end": "2025-12-31", "items": [item(w), item(w, title="法律咨询")],
    }  # fmt: skip
    drafted = await s.ok(ag, "POST", "/agreements", C, w.C, json=proposal)
    w.agreement = UUID(drafted["agreement_id"])
    w.k1, w.k2 = (UUID(i["commitment_id"]) for i in _items(drafted))
    for role, pid in ((C, w.C), (U, w.U)):
        await s.ok(ag, "POST", f"/agreements/{w.agreement}/signatures", role, pid,
                   json={"version": 1})  # fmt: skip

    # points: members M (unit U, community C) and m (unit u, community c), reported
    pt = "points"
    for mid_attr, name, phone, unit, community in (
        ("M", M1_NAME, w.phones[0], w.U, w.C),
        ("m", M2_NAME, w.phones[1], w.u, w.c),
    ):
        body = member_body(w, name, phone, unit, community)
        member = UUID((await s.ok(pt, "POST", "/members", U, unit, json=body))["member_id"])
        setattr(w, mid_attr, member)
        await s.ok(pt, "POST", f"/members/{member}/report", Role.MEMBER, member, json={})
        await s.ok(pt, "POST", f"/members/{member}/report/accept", C, community)
    activity = {
        "community_id": str(w.C), "title": "楼道清扫", "category": "happy_compound",
        "starts_at": "2025-03-01T01:00:00+00:00", "ends_at": "2025-03-01T05:00:00+00:00",
        "place": "3号楼", "capacity": 10,
    }  # fmt: skip
    w.activity = UUID((await s.ok(pt, "POST", "/activities", C, w.C, json=activity))["activity_id"])
    wish = {"community_id": str(w.C), "title": "给独居老人修收音机"}
    w.wish = UUID((await s.ok(pt, "POST", "/wishes", C, w.C, json=wish))["wish_id"])

    # commitments: K1 fulfilled with M taking part; K2 stays open
    cm = "commitments"

    async def opened() -> bool:
        r = await s.call(cm, "GET", f"/commitments/{w.k2}", U, w.U)
        return r.status_code == 200

    await eventually(opened, timeout=30)
    await s.ok(cm, "POST", f"/commitments/{w.k1}/claim", U, w.U)
    files = {"file": ("photo.png", PNG, "image/png")}
    ev = await s.ok(cm, "POST", f"/commitments/{w.k1}/evidence", U, w.U, files=files)
    w.evidence = UUID(ev["evidence_id"])
    done = {"participants": [{"member_id": str(w.M), "hours": "2"}], "actual_quantity": 1}
    await s.settled()  # commitments knows M (member.reported) before M takes part
    await s.ok(cm, "POST", f"/commitments/{w.k1}/done", U, w.U, json=done)
    await s.ok(cm, "POST", f"/commitments/{w.k1}/confirm", C, w.C, json={})

    # evaluation: experts E (assigned to K1) and e (not assigned)
    await s.settled()
    ev_ = "evaluation"
    for expert in (w.E, w.e):
        await s.ok(ev_, "POST", "/experts", D, w.D, json={"expert_id": str(expert), "name": "专家"})
    assignment = {"expert_id": str(w.E), "subject_kind": "commitment", "subject_id": str(w.k1),
                  "criteria": ["quality", "timeliness"]}  # fmt: skip
    await s.ok(ev_, "POST", "/expert-assignments", D, w.D, json=assignment)
    await s.settled()  # commitments learns the assignment (expert.assigned): E reads K1

    async def awarded() -> bool:
        r = await s.call(pt, "GET", f"/members/{w.M}/points", Role.MEMBER, w.M,
                         params={"year": YEAR})  # fmt: skip
        return r.status_code == 200 and bool(_entries(r.json()))

    await eventually(awarded, timeout=30)
    r = await s.call(pt, "GET", f"/members/{w.M}/points", Role.MEMBER, w.M, params={"year": YEAR})
    w.entry = UUID(str(_entries(r.json())[0]["entry_id"]))
    return w


def _items(view: dict[str, Any]) -> list[dict[str, Any]]:
    for holder in (view, view.get("draft") or {}, *(view.get("rounds") or [])[-1:]):
        if isinstance(holder, dict) and isinstance(holder.get("items"), list):
            return holder["items"]  # type: ignore[no-any-return]
    raise AssertionError(f"no items in {view}")


def _entries(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        for key in ("entries", "journal", "ledger"):
            if isinstance(body.get(key), list):
                return body[key]  # type: ignore[no-any-return]
            if isinstance(body.get(key), dict) and isinstance(body[key].get("items"), list):
                return body[key]["items"]  # type: ignore[no-any-return]  # a page
    return []
