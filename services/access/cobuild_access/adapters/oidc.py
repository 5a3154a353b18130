"""The OpenID Connect adapter of `IdentityProvider`: any OIDC provider by configuration
(Canaille embedded in development, Keycloak or another in production).

- A JWT (an ID token, or an access token the provider issues as a JWT) is verified against the
  provider's JWKS: asymmetric algorithms only, issuer and audience from the settings, expiry
  and issue time required. The key set is cached and refetched on an unknown `kid` (at most
  once per `jwks_min_refetch_s`), so the provider rotates its keys without a restart here.
- Anything else is an opaque token (Canaille's client-credentials tokens are): the provider's
  introspection endpoint (RFC 7662) answers for it, with this service's client credentials.

Endpoints come from discovery (`<issuer>/.well-known/openid-configuration`) unless set.
Plain http is accepted on loopback only.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from cobuild_kit.auth import CLOCK_SKEW_S
from cobuild_kit.errors import Unauthorized, Unavailable
from cobuild_kit.logging import get_logger

from cobuild_access.domain.identity import Identity

log = get_logger(__name__)

# Never 'none' and never a symmetric algorithm (a public client secret would forge tokens).
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def require_safe_url(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK):
        return url
    raise ValueError(f"{what} {url!r}: https is required (plain http only on loopback)")


class OidcProvider:
    def __init__(
        self,
        *,
        issuer: str,
        audiences: list[str],
        client_id: str | None = None,
        client_secret: str | None = None,
        jwks_url: str | None = None,
        introspection_url: str | None = None,
        timeout_s: float = 5.0,
        jwks_min_refetch_s: float = 5.0,
        jwks_max_age_s: float = 3600.0,
        transport: httpx.AsyncBaseTransport | None = None,
        ca_file: str | None = None,
    ) -> None:
        self.issuer = require_safe_url(issuer, "provider issuer")
        # The provider's TLS checked against this file's certificates, else the public CAs.
        self._verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=ca_file) if ca_file else True
        )
        self._audiences = audiences or ([client_id] if client_id else [])
        if not self._audiences:
            raise ValueError("the provider's audiences (or client id) must be set")
        self._client = (client_id, client_secret) if client_id and client_secret else None
        self._jwks_url = jwks_url and require_safe_url(jwks_url, "provider JWKS URL")
        self._introspection_url = introspection_url and require_safe_url(
            introspection_url, "provider introspection URL"
        )
        self._timeout_s = timeout_s
        self._min_refetch_s = jwks_min_refetch_s
        self._max_age_s = jwks_max_age_s
        self._transport = transport
        self._discovered: dict[str, Any] | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()

    async def identify(self, token: str) -> Identity:
        if _looks_like_jwt(token):
            return await self._from_jwt(token)
        return await self._introspect(token)

    # -- JWTs ------------------------------------------------------------------------------

    async def _from_jwt(self, token: str) -> Identity:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"malformed provider token: {exc}") from exc
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS:
            raise Unauthorized(f"provider token with a refused algorithm ({alg!r})")
        key = await self._key(str(kid) if kid is not None else None)
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[str(alg)],
                audience=self._audiences,
                issuer=self.issuer,
                leeway=CLOCK_SKEW_S,
                options={"require": ["exp", "iat", "iss", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("provider token expired") from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthorized("provider token from the wrong issuer") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthorized("provider token for another audience") from exc
        except jwt.InvalidSignatureError as exc:
            raise Unauthorized("provider token signature does not verify") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid provider token: {exc}") from exc
        subject = str(claims["sub"])
        client_id = claims.get("client_id")
        return Identity(
            subject=subject,
            display_name=_name(claims),
            client=bool(client_id) and client_id == subject,
            session=_session(claims, token),
            issuer=self.issuer,
        )

    async def _key(self, kid: str | None) -> jwt.PyJWK:
        stale = self._fetched_at is None or time.monotonic() - self._fetched_at > self._max_age_s
        if stale or (kid is not None and kid not in self._keys):
            async with self._lock:
                if (kid is None or kid not in self._keys or stale) and self._may_fetch():
                    await self._fetch_keys()
        if kid is None:
            if len(self._keys) == 1:  # a provider with one key may leave kid out
                return next(iter(self._keys.values()))
            raise Unauthorized("provider token names no key (kid)")
        key = self._keys.get(kid)
        if key is None:
            raise Unauthorized("provider token signed with an unknown key")
        return key

    def _may_fetch(self) -> bool:
        return (
            self._attempted_at is None
            or time.monotonic() - self._attempted_at >= self._min_refetch_s
        )

    async def _fetch_keys(self) -> None:
        self._attempted_at = time.monotonic()
        url = self._jwks_url or str((await self._discovery()).get("jwks_uri") or "")
        if not url:
            raise Unavailable("the provider publishes no jwks_uri")
        body = await self._get_json(require_safe_url(url, "provider JWKS URL"))
        keys: dict[str, jwt.PyJWK] = {}
        for jwk in body.get("keys", []) if isinstance(body, dict) else []:
            if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
                continue
            try:
                parsed = jwt.PyJWK(jwk)
            except jwt.PyJWTError:
                continue  # a key of a type this PyJWT cannot use: not ours to verify with
            keys[str(jwk.get("kid") or "")] = parsed
        self._keys = keys
        self._fetched_at = time.monotonic()
        log.info("provider.jwks_fetched", kids=sorted(keys), url=url)

    # -- opaque tokens ---------------------------------------------------------------------

    async def _introspect(self, token: str) -> Identity:
        if self._client is None:
            raise Unauthorized(
                "an opaque provider token, and no client credentials to introspect it"
            )
        url = self._introspection_url or str(
            (await self._discovery()).get("introspection_endpoint") or ""
        )
        if not url:
            raise Unauthorized("an opaque provider token, and the provider has no introspection")
        try:
            async with self._http() as http:
                response = await http.post(
                    require_safe_url(url, "provider introspection URL"),
                    data={"token": token, "token_type_hint": "access_token"},
                    auth=self._client,
                )
        except httpx.HTTPError as exc:
            raise Unavailable(f"the identity provider does not answer ({exc!r})") from exc
        if response.status_code in (401, 403):
            raise Unavailable(
                f"the provider refused this service's client credentials (HTTP {response.status_code})"
            )
        try:
            response.raise_for_status()
            claims = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise Unavailable(f"the provider's introspection failed ({exc!r})") from exc
        if not isinstance(claims, dict) or claims.get("active") is not True:
            raise Unauthorized("provider token is not active (unknown, expired or revoked)")
        if "iss" in claims and claims["iss"] != self.issuer:
            raise Unauthorized("provider token from the wrong issuer")
        exp = claims.get("exp")
        if isinstance(exp, int | float) and exp < time.time() - CLOCK_SKEW_S:
            raise Unauthorized("provider token expired")
        subject = claims.get("sub") or claims.get("client_id")
        if not subject:
            raise Unauthorized("provider token names no subject")
        client_id = claims.get("client_id")
        return Identity(
            subject=str(subject),
            display_name=_name(claims),
            client=not claims.get("sub") or claims.get("sub") == client_id,
            session=_session(claims, token),
            issuer=self.issuer,
        )

    # -- plumbing ----------------------------------------------------------------------------

    async def _discovery(self) -> dict[str, Any]:
        if self._discovered is None:
            url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            body = await self._get_json(url)
            if not isinstance(body, dict):
                raise Unavailable("the provider's discovery document is not an object")
            if body.get("issuer") and body["issuer"] != self.issuer:
                raise Unavailable(
                    f"the provider says its issuer is {body['issuer']!r}, not {self.issuer!r}"
                )
            self._discovered = body
        return self._discovered

    async def _get_json(self, url: str) -> Any:
        try:
            async with self._http() as http:
                response = await http.get(url, headers={"accept": "application/json"})
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, json.JSONDecodeError, ValueError) as exc:
            raise Unavailable(f"the identity provider does not answer at {url} ({exc!r})") from exc

    def _http(self) -> httpx.AsyncClient:
        # trust_env off: the provider is reached directly, never through a proxy of the env
        return httpx.AsyncClient(
            timeout=self._timeout_s,
            trust_env=False,
            transport=self._transport,
            verify=self._verify,
        )


class NoProvider:
    """No provider configured: every exchange is refused, saying so."""

    async def identify(self, token: str) -> Identity:
        raise Unavailable("no identity provider is configured (COBUILD_ACCESS_PROVIDER_ISSUER)")


def _looks_like_jwt(token: str) -> bool:
    parts = token.split(".")
    return len(parts) == 3 and all(parts[:2])


def _name(claims: dict[str, Any]) -> str | None:
    for field in ("name", "preferred_username", "username", "nickname"):
        value = claims.get(field)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return None


def _session(claims: dict[str, Any], token: str) -> str:
    """What makes one sign-in: the provider's session, else the moment of authentication,
    else the token itself (an ID token is issued once per sign-in)."""
    for field in ("sid", "auth_time", "jti", "iat"):
        if claims.get(field):
            return f"{field}:{claims[field]}"[:200]
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:32]
