"""The token exchange and the public keys."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from cobuild_contracts import Role
from cobuild_kit.api import AUTHENTICATED, refusals
from cobuild_kit.rate_limits import client_address, rate_limit
from cobuild_kit.service import ActorDep, PublicRateLimit
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from cobuild_access.http.views import Body
from cobuild_access.settings import RuntimeDep
from cobuild_access.usecases import exchange as exchanging
from cobuild_access.usecases import keys
from cobuild_access.wiring import parts_of

router = APIRouter(tags=["tokens"])
ops = APIRouter(tags=["keys"], responses=AUTHENTICATED)

Exchanges = rate_limit(
    "exchange", lambda s: getattr(s, "exchanges_per_minute", 600), what="exchanges"
)


class ExchangeIn(Body):
    subject_token: Annotated[str, Field(min_length=1, max_length=16_384)] = Field(
        description="the identity provider's access or ID token"
    )
    grant_id: UUID | None = Field(
        default=None, description="one of your grants (GET /me/grants); null: a person token"
    )


class ExchangeOut(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="seconds (900)")
    role: Role
    party_id: UUID
    grant_id: UUID | None


class Jwk(BaseModel):
    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str
    kid: str
    use: Literal["sig"]
    alg: Literal["EdDSA"]


class JwkSet(BaseModel):
    keys: list[Jwk]


@router.post(
    "/exchange",
    dependencies=[Exchanges],
    responses=refusals(401, 403, 404, 422, 429, 503),
)
async def exchange(body: ExchangeIn, request: Request, rt: RuntimeDep) -> ExchangeOut:
    """A provider token for a Cobuild token (EdDSA, 15 minutes): for one of your grants
    (claim `gid`), or, with `grant_id` null, a `person` token good for self-service only.
    A provider token that does not verify is a 401 naming why; a revoked grant a 403; a grant
    that is not yours a 404. Sign-ins and exchanges are audited."""
    done = await exchanging.exchange(
        rt, body.subject_token, body.grant_id, client=client_address(request)
    )
    return ExchangeOut(
        access_token=done.access_token,
        expires_in=done.expires_in,
        role=done.role,
        party_id=done.party_id,
        grant_id=done.grant_id,
    )


@router.get("/.well-known/jwks.json", dependencies=[PublicRateLimit], responses=refusals(429))
async def jwks(rt: RuntimeDep) -> JwkSet:
    """The public keys of Cobuild tokens: the signing key, the next one (published ahead)
    and the retired ones whose tokens may still be alive. Every service verifies against it."""
    await keys.ensure_loaded(rt)
    return JwkSet(keys=[Jwk.model_validate(k) for k in parts_of(rt).keys.jwks()])


@ops.post("/keys/rotate")
async def rotate(actor: ActorDep, rt: RuntimeDep) -> JwkSet:
    """The operator's rotation now: a new key signs after the publish delay; the old one
    stays published until its tokens have expired."""
    await keys.rotate(rt, actor)
    return JwkSet(keys=[Jwk.model_validate(k) for k in parts_of(rt).keys.jwks()])
