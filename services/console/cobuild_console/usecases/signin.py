"""Signing in and acting: the provider's authorization code with PKCE, the exchange for a
person token, the grants, the choice of one, the Cobuild token kept fresh, signing out."""

from __future__ import annotations

import secrets
import time

import structlog

from cobuild_console.gateways.access import ExchangeRefused, Grant
from cobuild_console.gateways.provider import SignInFailed
from cobuild_console.runtime import ConsoleRuntime
from cobuild_console.sessions import Session

log = structlog.get_logger("cobuild.console.signin")
CALLBACK = "/signin/callback"


def callback_url(rt: ConsoleRuntime) -> str:
    return rt.settings.base_url + CALLBACK


async def start(rt: ConsoleRuntime, session: Session, next_url: str) -> str:
    """The provider's authorization URL; what the callback will check stays in the session."""
    authorization = await rt.provider.authorize(callback_url(rt))
    session.pending = authorization
    session.next_url = next_url
    return authorization.url


async def finish(rt: ConsoleRuntime, session: Session, code: str, state: str) -> Session:
    """Redeem the code, check the ID token, rotate the session and learn the grants.

    Returns the (rotated) session: one grant is taken at once, several wait for the role
    switch, none leaves the person signed in with no role."""
    pending = session.pending
    if pending is None or not secrets.compare_digest(state, pending.state):
        raise SignInFailed("the answer's state is not the one this session sent")
    session.pending = None
    tokens = await rt.provider.redeem(code, callback_url(rt), pending.code_verifier, pending.nonce)
    rt.sessions.rotate(session)  # the signed-in session never keeps the anonymous id
    claims = tokens.claims
    session.subject = str(claims["sub"])
    session.display_name = str(
        claims.get("name")
        or claims.get("preferred_username")
        or claims.get("email")
        or claims["sub"]
    )
    session.provider = tokens
    session.person_token = await rt.access.exchange(_subject_token(rt, session), None)
    session.grants = await rt.access.grants(session.person_token.token)
    log.info("signed in", subject=session.subject, grants=len(session.grants))
    if len(session.grants) == 1:
        await act_as(rt, session, session.grants[0].grant_id)
    return session


def _subject_token(rt: ConsoleRuntime, session: Session) -> str:
    assert session.provider is not None
    if rt.settings.exchange_subject_token == "id_token":
        return session.provider.id_token
    return session.provider.access_token or session.provider.id_token


async def _fresh_provider_token(rt: ConsoleRuntime, session: Session) -> str:
    tokens = session.provider
    if tokens is None:
        raise ExchangeRefused(401, "not signed in")
    if tokens.expires_at - 30 < time.time() and tokens.refresh_token:
        session.provider = await rt.provider.refresh(tokens.refresh_token)
    return _subject_token(rt, session)


async def person_token(rt: ConsoleRuntime, session: Session) -> str:
    """The signed-in person's `person` token (self-service: the grants, an invitation)."""
    if session.person_token is None or not session.person_token.fresh():
        session.person_token = await rt.access.exchange(
            await _fresh_provider_token(rt, session), None
        )
    return session.person_token.token


async def refresh_grants(rt: ConsoleRuntime, session: Session) -> list[Grant]:
    session.grants = await rt.access.grants(await person_token(rt, session))
    return session.grants


async def act_as(rt: ConsoleRuntime, session: Session, grant_id: str) -> Grant:
    """Switch to one of the person's grants: a Cobuild token for it, and the header's who
    and for whom. A grant not among the person's is refused by the access service (403)."""
    grant = next((g for g in session.grants if g.grant_id == grant_id), None)
    if grant is None:
        raise ExchangeRefused(403, f"grant {grant_id} is not this person's")
    token = await rt.access.exchange(await _fresh_provider_token(rt, session), grant_id)
    session.acting = grant
    session.token = token
    log.info("acting", subject=session.subject, role=grant.role, party_id=grant.party_id)
    return grant


async def cobuild_token(rt: ConsoleRuntime, session: Session) -> str:
    """The acting grant's Cobuild token, exchanged again when it is about to expire."""
    if session.acting is None:
        raise ExchangeRefused(403, "no grant chosen")
    if session.token is None or not session.token.fresh():
        session.token = await rt.access.exchange(
            await _fresh_provider_token(rt, session), session.acting.grant_id
        )
    return session.token.token


async def sign_out(rt: ConsoleRuntime, session: Session) -> str:
    """End the session here, and the URL that ends it at the provider (or our own page)."""
    id_token = session.provider.id_token if session.provider else None
    rt.sessions.end(session)
    session.ended = True
    session.subject = None
    session.provider = None
    session.token = None
    session.acting = None
    back = rt.settings.base_url + "/signed-out"
    return await rt.provider.end_session_url(id_token, back) or "/signed-out"
