"""Test support of the console: a minimal OpenID Connect issuer and a stand-in for the access
service's exchange, served on 127.0.0.1, and a way to serve any ASGI app on a free port.

The issuer is what the console meets in production, reduced: discovery, an authorization
endpoint with a sign-in form, a token endpoint that checks the client's secret, the redirect
URI and the PKCE verifier (S256 only), RS256-signed ID and access tokens with the nonce, a
JWKS and an end-session endpoint. The access stand-in keeps the interface of the access
service (POST /exchange, GET /me/grants) and signs Cobuild tokens with the stack's
development key, so the real services accept them. Both go once the embedded provider and
the access service land (their fixtures replace these)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt
import uvicorn
from cobuild_stack.ports import free_port
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

CLIENT_ID = "cobuild-console"
CLIENT_SECRET = "console-secret-for-tests"
PASSWORD = "correct horse"


@asynccontextmanager
async def served(app: Any, port: int | None = None) -> AsyncIterator[str]:
    """Serve an ASGI app on 127.0.0.1 (a free port unless given) for the block's life."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


# -- the OIDC issuer --------------------------------------------------------------------------


@dataclass
class Person:
    username: str
    name: str
    sub: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class _Code:
    redirect_uri: str
    challenge: str
    nonce: str
    sub: str


@dataclass
class FakeIssuer:
    url: str = ""  # set once served
    people: dict[str, Person] = field(default_factory=dict)
    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    kid: str = "fake-1"
    codes: dict[str, _Code] = field(default_factory=dict)
    ended_sessions: list[dict[str, str]] = field(default_factory=list)
    redeemed: list[dict[str, str]] = field(default_factory=list)
    token_lifetime_s: int = 300

    def add(self, username: str, name: str) -> Person:
        person = Person(username, name)
        self.people[username] = person
        return person

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def verify(self, token: str) -> dict[str, Any]:
        claims: dict[str, Any] = jwt.decode(
            token,
            self.key.public_key(),
            algorithms=["RS256"],
            issuer=self.url,
            options={"verify_aud": False},
        )
        return claims

    def jwks(self) -> dict[str, Any]:
        jwk: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(
            self.key.public_key(), as_dict=True
        )
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
                "end_session_endpoint": f"{self.url}/end-session",
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            return self.jwks()

        @app.get("/authorize")
        async def authorize(request: Request) -> HTMLResponse:
            q = request.query_params
            if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code":
                raise HTTPException(400, "unknown client or response type")
            if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
                raise HTTPException(400, "PKCE with S256 is required")
            hidden = "".join(
                f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in q.items()
            )
            page = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>统一身份认证</title></head>
<body><main><h1>统一身份认证</h1><form method="post" action="/authorize">{hidden}
<p><label for="username">用户名</label> <input id="username" name="username"></p>
<p><label for="password">密码</label> <input id="password" name="password" type="password"></p>
<p><button type="submit">登录</button></p></form></main></body></html>"""
            return HTMLResponse(page)

        @app.post("/authorize")
        async def sign_in(request: Request) -> RedirectResponse:
            form = await request.form()
            person = self.people.get(str(form.get("username")))
            if person is None or form.get("password") != PASSWORD:
                raise HTTPException(401, "wrong user name or password")
            code = secrets.token_urlsafe(24)
            self.codes[code] = _Code(
                str(form["redirect_uri"]),
                str(form["code_challenge"]),
                str(form.get("nonce", "")),
                person.sub,
            )
            query = urlencode({"code": code, "state": str(form.get("state", ""))})
            return RedirectResponse(f"{form['redirect_uri']}?{query}", status_code=302)

        @app.post("/token")
        async def token(
            request: Request, authorization: str | None = Header(default=None)
        ) -> JSONResponse:
            form = await request.form()
            if not authorization or not authorization.startswith("Basic "):
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            client = base64.b64decode(authorization.removeprefix("Basic ")).decode()
            if client != f"{CLIENT_ID}:{CLIENT_SECRET}":
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            if form.get("grant_type") == "refresh_token":
                sub = str(form.get("refresh_token", "")).partition(":")[2]
                return JSONResponse(self._tokens(sub, None))
            grant = self.codes.pop(str(form.get("code", "")), None)
            if grant is None or grant.redirect_uri != form.get("redirect_uri"):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            verifier = str(form.get("code_verifier", ""))
            digest = hashlib.sha256(verifier.encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
                return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, 400)
            self.redeemed.append({"sub": grant.sub, "verifier": verifier})
            return JSONResponse(self._tokens(grant.sub, grant.nonce))

        @app.get("/end-session")
        async def end_session(request: Request) -> RedirectResponse:
            self.ended_sessions.append(dict(request.query_params))
            back = request.query_params.get("post_logout_redirect_uri", "/")
            return RedirectResponse(back, status_code=302)

        return app

    def _tokens(self, sub: str, nonce: str | None) -> dict[str, Any]:
        person = next(p for p in self.people.values() if p.sub == sub)
        now = int(time.time())
        base = {"iss": self.url, "sub": sub, "iat": now, "exp": now + self.token_lifetime_s}
        id_claims = {**base, "aud": CLIENT_ID, "name": person.name}
        if nonce:
            id_claims["nonce"] = nonce
        return {
            "token_type": "Bearer",
            "access_token": self.sign({**base, "aud": "cobuild-access", "scope": "openid profile"}),
            "id_token": self.sign(id_claims),
            "refresh_token": f"r-{secrets.token_hex(4)}:{sub}",
            "expires_in": self.token_lifetime_s,
        }


# -- the access service's exchange ------------------------------------------------------------


@dataclass(frozen=True)
class GrantRow:
    grant_id: str
    subject: str
    role: str
    party_id: str
    party_name: str


@dataclass
class FakeAccess:
    """POST /exchange and GET /me/grants, as the access service answers them."""

    issuer: FakeIssuer
    private_key_pem: bytes
    kid: str
    grants: list[GrantRow] = field(default_factory=list)
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    on_behalf: list[dict[str, Any]] = field(default_factory=list)  # POST /audit/on-behalf

    @classmethod
    def with_dev_keys(cls, issuer: FakeIssuer, keys_dir: Path, kid: str) -> FakeAccess:
        return cls(issuer, (keys_dir / "dev-issuer.pem").read_bytes(), kid)

    def grant(self, person: Person, role: str, party_id: str, party_name: str) -> GrantRow:
        row = GrantRow(str(uuid.uuid4()), person.sub, role, party_id, party_name)
        self.grants.append(row)
        return row

    def _mint(self, sub: str, role: str, party_id: str, gid: str | None) -> str:
        now = int(time.time())
        claims = {
            "sub": sub,
            "role": role,
            "party_id": party_id,
            "iss": "cobuild-dev",
            "aud": "cobuild",
            "iat": now,
            "exp": now + 900,
        }
        if gid:
            claims["gid"] = gid
        return jwt.encode(claims, self._private(), algorithm="EdDSA", headers={"kid": self.kid})

    def _private(self) -> Ed25519PrivateKey:
        key = serialization.load_pem_private_key(self.private_key_pem, None)
        assert isinstance(key, Ed25519PrivateKey)
        return key

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/exchange")
        async def exchange(body: dict[str, Any]) -> JSONResponse:
            try:
                claims = self.issuer.verify(str(body.get("subject_token", "")))
            except jwt.PyJWTError as exc:
                return JSONResponse({"error": "unauthorized", "message": str(exc)}, 401)
            sub, gid = str(claims["sub"]), body.get("grant_id")
            self.exchanges.append({"sub": sub, "grant_id": gid})
            if gid is None:
                token = self._mint(sub, "person", str(uuid.uuid5(uuid.NAMESPACE_URL, sub)), None)
                return JSONResponse(
                    _answer(token, "person", str(uuid.uuid5(uuid.NAMESPACE_URL, sub)), None)
                )
            row = next((g for g in self.grants if g.grant_id == gid and g.subject == sub), None)
            if row is None:
                return JSONResponse({"error": "forbidden", "message": "not your grant"}, 403)
            token = self._mint(sub, row.role, row.party_id, row.grant_id)
            return JSONResponse(_answer(token, row.role, row.party_id, row.grant_id))

        @app.get("/me/grants")
        async def my_grants(authorization: str = Header()) -> dict[str, Any]:
            claims = jwt.decode(
                authorization.removeprefix("Bearer "),
                self._private().public_key(),
                algorithms=["EdDSA"],
                audience="cobuild",
            )
            mine = [g for g in self.grants if g.subject == claims["sub"]]
            return {
                "items": [
                    {
                        "grant_id": g.grant_id,
                        "role": g.role,
                        "party_id": g.party_id,
                        "party_name": g.party_name,
                    }
                    for g in mine
                ]
            }

        @app.post("/audit/on-behalf", status_code=204)
        async def audit_on_behalf(body: dict[str, Any], authorization: str = Header()) -> None:
            claims = jwt.decode(
                authorization.removeprefix("Bearer "),
                self._private().public_key(),
                algorithms=["EdDSA"],
                audience="cobuild",
            )
            self.on_behalf.append(
                {**body, "by": claims["sub"], "role": claims["role"], "gid": claims.get("gid")}
            )

        return app


def _answer(token: str, role: str, party_id: str, gid: str | None) -> dict[str, Any]:
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": 900,
        "role": role,
        "party_id": party_id,
        "grant_id": gid,
    }


# -- a small district on the real services, for the browser tests ---------------------------


@dataclass
class District:
    district_id: str
    street_id: str = ""
    community_id: str = ""
    unit_id: str = ""
    member_id: str = ""
    to_confirm: str = ""  # a commitment the unit marked done, for the community to confirm
    to_refuse: str = ""  # another, to send back
    owed_late: str = ""  # the community owes it, past its deadline
    owed_soon: str = ""  # the community owes it, due within days
    unit_later: str = ""  # the unit owes it, due in three months (untouched by the set-up)
    draft_id: str = ""  # a draft the unit put forward, awaiting the community
    names: dict[str, str] = field(default_factory=dict)


COMMUNITY_NAME = "幸福里社区"
UNIT_NAME = "区人民医院"
MEMBER_NAME = "陈晓红"


def tiny_png() -> bytes:
    """A 24×16 PNG, red, made here (a photo of the work, as far as the service can tell)."""
    import struct
    import zlib

    width, height = 24, 16
    rows = b"".join(b"\x00" + b"\xc0\x30\x30" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def seed_district(api: Any, quiet: Any, today: Any) -> District:
    """Parties, a signed agreement whose commitments wait on the community in each way the
    to-do page lists, a draft awaiting its answer, a member asking to report, two needs.
    `api` is cobuild_scenario's Api (tokens minted with the stack's development key)."""
    from datetime import timedelta

    d = District(district_id=str(uuid.uuid4()))
    district = api.actor("district_admin", d.district_id)
    await district.post(
        "agreements",
        "/parties",
        {"party_id": d.district_id, "kind": "district", "name": "示范区", "code": "D1"},
    )
    street = await district.post(
        "agreements",
        "/parties",
        {"kind": "street", "name": "和平街道", "code": "S1", "parent_id": d.district_id},
    )
    d.street_id = str(street["party_id"])
    community = await district.post(
        "agreements",
        "/parties",
        {"kind": "community", "name": COMMUNITY_NAME, "code": "C1", "parent_id": d.street_id},
    )
    d.community_id = str(community["party_id"])
    unit = await district.post(
        "agreements",
        "/parties",
        {
            "kind": "unit",
            "name": UNIT_NAME,
            "code": "U1",
            "parent_id": d.district_id,
            "unit_type": "public_institution",
            "paired_community_ids": [d.community_id],
        },
    )
    d.unit_id = str(unit["party_id"])
    await quiet.wait()  # the other services learn the directory from party.* events

    worker = api.actor("community_admin", d.community_id)
    hospital = api.actor("unit_admin", d.unit_id)

    def item(title: str, obligor: str, beneficiary: str, days: int, fen: int = 0) -> dict[str, Any]:
        return {
            "title": title,
            "kind": "task",
            "category": "peoples_welfare",
            "obligor_party_id": obligor,
            "beneficiary_party_id": beneficiary,
            "responsible_title": "党支部书记" if obligor == d.unit_id else "社区书记",
            "deadline": (today + timedelta(days=days)).isoformat(),
            "funds_fen": fen,
            "quantity": 1,
            "quantity_unit": "项",
        }

    terms = {
        "term_start": today.isoformat(),
        "term_end": (today + timedelta(days=365)).isoformat(),
    }
    items = [
        item("为助老食堂捐赠一批餐具", d.unit_id, d.community_id, 30, 1_200_000),
        item("义诊进社区（春季）", d.unit_id, d.community_id, 40),
        item("组织党员到医院开展政策宣讲", d.community_id, d.unit_id, 3),
        item("提供社区活动室作为健康讲座场地", d.community_id, d.unit_id, 12),
        item("法律咨询进社区", d.unit_id, d.community_id, 90),
    ]
    proposed = await hospital.post(
        "agreements",
        "/agreements",
        {"community_id": d.community_id, "unit_id": d.unit_id, **terms, "items": items},
    )
    agreement_id = proposed["agreement_id"]
    await hospital.post("agreements", f"/agreements/{agreement_id}/signatures", {"version": 1})
    signed = await worker.post(
        "agreements", f"/agreements/{agreement_id}/signatures", {"version": 1}
    )
    by_title = {c["title"]: str(c["commitment_id"]) for c in signed["agreement"]["commitments"]}
    d.to_confirm = by_title["为助老食堂捐赠一批餐具"]
    d.to_refuse = by_title["义诊进社区（春季）"]
    d.owed_late = by_title["组织党员到医院开展政策宣讲"]
    d.owed_soon = by_title["提供社区活动室作为健康讲座场地"]
    d.unit_later = by_title["法律咨询进社区"]
    await quiet.wait()  # the commitments service opened one commitment per item

    for commitment_id in (d.to_confirm, d.to_refuse):
        path = f"/commitments/{commitment_id}"
        await hospital.post("commitments", f"{path}/claim")
        await hospital.post(
            "commitments", f"{path}/progress", {"percent": 100, "note": "已按约定完成"}
        )
        await hospital.upload(
            "commitments", f"{path}/evidence", "现场照片.png", tiny_png(), "image/png"
        )
        await hospital.post("commitments", f"{path}/done", {})

    draft = await hospital.post(
        "agreements",
        "/agreements",
        {
            "community_id": d.community_id,
            "unit_id": d.unit_id,
            **terms,
            "items": [item("暑期青少年急救培训", d.unit_id, d.community_id, 60)],
        },
    )
    d.draft_id = str(draft["agreement_id"])

    member = await hospital.post(
        "points",
        "/members",
        {
            "name": MEMBER_NAME,
            "phone": "13800138000",
            "unit_id": d.unit_id,
            "community_id": d.community_id,
        },
    )
    d.member_id = str(member["member_id"])
    await api.actor("member", d.member_id).post("points", f"/members/{d.member_id}/report", {})

    for title, days in (("老旧小区楼道照明修缮", 20), ("周末儿童课业辅导志愿者", 45)):
        await worker.post(
            "agreements",
            "/needs",
            {
                "community_id": d.community_id,
                "category": "happy_compound",
                "kind": "task",
                "title": title,
                "quantity": 1,
                "quantity_unit": "项",
                "funds_fen": 500_000,
                "wanted_by": (today + timedelta(days=days)).isoformat(),
                "beneficiaries": 120,
            },
        )
    await quiet.wait()
    d.names = {d.community_id: COMMUNITY_NAME, d.unit_id: UNIT_NAME}
    return d
