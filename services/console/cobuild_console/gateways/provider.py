"""The OpenID Connect provider: discovery, authorization code with PKCE, the ID token's
check, refresh and the end-session URL. authlib builds the authorization request and
redeems the code; PyJWT checks the ID token against the provider's JWKS (refetched on an
unknown key id, so the provider may rotate its keys)."""

from __future__ import annotations

import secrets
import time
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from authlib.oauth2.rfc7636 import create_s256_code_challenge

with warnings.catch_warnings():
    # authlib 1.9 would rather run on httpx2; on httpx it works the same and says so once.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

from cobuild_console.settings import ConsoleSettings

# Never 'none' and never a symmetric algorithm (a public client's secret would forge tokens).
ID_TOKEN_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"}
)


class SignInFailed(Exception):
    """The provider's answer cannot be trusted or used; the message says why (for the log)."""


@dataclass(frozen=True)
class Metadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None


@dataclass(frozen=True)
class Authorization:
    """What the callback needs to check the answer: kept in the server-side session."""

    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class ProviderTokens:
    access_token: str
    id_token: str
    refresh_token: str | None
    expires_at: float
    claims: dict[str, Any]  # the ID token's, checked


class Provider:
    def __init__(self, settings: ConsoleSettings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http
        self._metadata: Metadata | None = None
        self._jwks: jwt.PyJWKSet | None = None

    @property
    def configured(self) -> bool:
        return bool(self.settings.oidc_issuer)

    async def metadata(self) -> Metadata:
        if self._metadata is None:
            issuer = self.settings.oidc_issuer.rstrip("/")
            try:
                answer = await self.http.get(f"{issuer}/.well-known/openid-configuration")
                answer.raise_for_status()
                doc = answer.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise SignInFailed(f"no discovery document at {issuer}: {exc}") from exc
            if doc.get("issuer", "").rstrip("/") != issuer:
                raise SignInFailed(f"discovery names issuer {doc.get('issuer')!r}, not {issuer!r}")
            self._metadata = Metadata(
                issuer=doc["issuer"],
                authorization_endpoint=doc["authorization_endpoint"],
                token_endpoint=doc["token_endpoint"],
                jwks_uri=doc["jwks_uri"],
                end_session_endpoint=doc.get("end_session_endpoint"),
            )
        return self._metadata

    def _client(self, redirect_uri: str | None = None) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.settings.oidc_client_id,
            client_secret=self.settings.oidc_client_secret or None,
            scope=self.settings.oidc_scopes,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=self.settings.upstream_timeout_s,
            # A public client (no secret) names itself in the body; a confidential one with
            # HTTP basic authentication, which every provider takes.
            token_endpoint_auth_method="client_secret_basic"
            if self.settings.oidc_client_secret
            else "none",
        )

    async def authorize(self, redirect_uri: str) -> Authorization:
        meta = await self.metadata()
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(64)
        async with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                meta.authorization_endpoint, state=state, nonce=nonce, code_verifier=verifier
            )
        assert create_s256_code_challenge(verifier) in url  # PKCE is never silently dropped
        return Authorization(url, state, nonce, verifier)

    async def redeem(
        self, code: str, redirect_uri: str, verifier: str, nonce: str
    ) -> ProviderTokens:
        meta = await self.metadata()
        async with self._client(redirect_uri) as client:
            try:
                token = await client.fetch_token(
                    meta.token_endpoint,
                    code=code,
                    code_verifier=verifier,
                    grant_type="authorization_code",
                )
            except Exception as exc:  # authlib raises OAuthError and httpx errors alike
                raise SignInFailed(f"the code was not redeemed: {exc}") from exc
        return await self._tokens(dict(token), nonce)

    async def refresh(self, refresh_token: str) -> ProviderTokens:
        meta = await self.metadata()
        async with self._client() as client:
            try:
                token = await client.refresh_token(meta.token_endpoint, refresh_token=refresh_token)
            except Exception as exc:
                raise SignInFailed(f"refresh refused: {exc}") from exc
        return await self._tokens(dict(token), None)

    async def _tokens(self, token: dict[str, Any], nonce: str | None) -> ProviderTokens:
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SignInFailed("the provider returned no ID token")
        claims = await self.check_id_token(id_token, nonce)
        expires_in = float(token.get("expires_in") or 300)
        return ProviderTokens(
            access_token=str(token.get("access_token") or ""),
            id_token=id_token,
            refresh_token=token.get("refresh_token"),
            expires_at=time.time() + expires_in,
            claims=claims,
        )

    async def _signing_key(self, kid: str | None) -> Any:
        meta = await self.metadata()
        for attempt in range(2):
            if self._jwks is None or attempt == 1:
                try:
                    answer = await self.http.get(meta.jwks_uri)
                    answer.raise_for_status()
                    self._jwks = jwt.PyJWKSet.from_dict(answer.json())
                except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
                    raise SignInFailed(f"the provider's keys could not be read: {exc}") from exc
            for key in self._jwks.keys:
                if kid is None or key.key_id == kid:
                    return key
        raise SignInFailed(f"the ID token is signed with an unknown key {kid!r}")

    async def check_id_token(self, id_token: str, nonce: str | None) -> dict[str, Any]:
        meta = await self.metadata()
        try:
            header = jwt.get_unverified_header(id_token)
            alg = str(header.get("alg", ""))
            if alg not in ID_TOKEN_ALGORITHMS:
                raise SignInFailed(f"the ID token is signed with a refused algorithm {alg!r}")
            key = await self._signing_key(header.get("kid"))
            claims: dict[str, Any] = jwt.decode(
                id_token,
                # The bare key: a JWKS entry may name another algorithm of its family than
                # the token's (Canaille publishes its RSA key as RS256 and signs with RS512).
                key.key,
                algorithms=[alg],
                audience=self.settings.oidc_client_id,
                issuer=meta.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
                leeway=30,
            )
        except jwt.PyJWTError as exc:
            raise SignInFailed(f"the ID token was refused: {exc}") from exc
        if nonce is not None and not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise SignInFailed("the ID token's nonce is not the one sent")
        return claims

    async def end_session_url(self, id_token: str | None, return_to: str) -> str | None:
        try:
            meta = await self.metadata()
        except SignInFailed:
            return None
        if not meta.end_session_endpoint:
            return None
        query = {"post_logout_redirect_uri": return_to, "client_id": self.settings.oidc_client_id}
        if id_token:
            query["id_token_hint"] = id_token
        separator = "&" if "?" in meta.end_session_endpoint else "?"
        return f"{meta.end_session_endpoint}{separator}{urlencode(query)}"
