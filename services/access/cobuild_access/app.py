"""The access service: its HTTP routers, consumers and workers, wired by the runtime kit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from cobuild_kit.auth import Actor as Actor
from cobuild_kit.auth import (
    JwtVerifier,
    KeySource,
    KeySources,
    StaticKeys,
    TokenVerifier,
    UnknownKey,
)
from cobuild_kit.clock import Clock
from cobuild_kit.service import ServiceDefinition, asyncapi, create_app
from fastapi import FastAPI
from faststream import FastStream

from cobuild_access import consumers, workers
from cobuild_access.adapters.mail import Mailer, NoMail, SmtpMailer
from cobuild_access.adapters.oidc import NoProvider, OidcProvider
from cobuild_access.adapters.signing import KeyRing
from cobuild_access.domain.identity import IdentityProvider
from cobuild_access.http import audit, exchange, grants, invitations
from cobuild_access.settings import AccessSettings
from cobuild_access.wiring import AccessDefinition, Parts, wall_clock

DESCRIPTION = """Who may do what for which party: grants (subject, role, party) delegated down
the district → street → community hierarchy, invitations, the token exchange and the public
keys every service verifies Cobuild tokens with, and the audit.

## Grants and delegation

A district admin grants street admins (streets of its district), unit admins (units of its
district) and integrations (`service`); a street admin grants community admins of its
street's communities; a community admin grants `community_admin` of its own community to the
other workers there. Nothing else: granting a role at or above your own, or outside your
subtree, is a 403 naming the rule. Revoking takes the right to grant (anyone may give up
their own; the operator revokes any). The district admin and the operator come from the
bootstrap only (`cobuild access grant`, an operator's, audited); a member's grant from the
points service's accepted report (`member.reported` naming the person's subject, or an
accepted member invitation), an expert's from the evaluation service's directory. Every
change publishes `grant.added` or `grant.revoked` on `access.events.v1`, keyed by subject.

## Sign-in and tokens

Identity comes from an OpenID Connect provider. `POST /exchange` takes its token (a JWT
verified against the provider's JWKS, or an opaque token the provider's introspection
vouches for) and answers a Cobuild token: EdDSA, with a `kid`, for 15 minutes, claims `sub`,
`role`, `party_id`, `iss`, `aud`, `iat`, `exp` and `gid` (the grant; absent from a `person`
token). Keys rotate: a new key is published before it signs, and a retired key stays in
`GET /.well-known/jwks.json` until its tokens have expired.

## Invitations

An admin invites a person to what the admin could grant; a unit or community admin may also
invite a member of theirs (role `member`, party the member id), and a district admin an expert
of the directory (role `expert`, party the expert id), to link their account. The link (shown
once, its QR code at `/invitation-links/{token}/qr.svg` or `.png`) works once, until it
expires (wall clock); used: 409, expired or withdrawn: 410. The invitee's address, if given,
is mailed the link and kept only while the invitation is open.

## Audit

Every grant change, sign-in, exchange (refused ones too), refusal and act on someone's behalf
(代录) is an append-only record. A district admin reads and exports its district's; the
operator all. Personal data here: subject ids, display names of grant holders, and an
invitee's address until the invitation is used or expires. Events carry ids only."""


class AccessVerifier:
    """Tokens this service signed (its key ring, refreshed from the database on an unknown
    kid), and those of the keys the settings or a test name (development keys)."""

    def __init__(self, own: TokenVerifier, other: TokenVerifier | None) -> None:
        self._own = own
        self._other = other

    def verify(self, token: str) -> Actor:
        if self._other is not None:
            try:
                return self._other.verify(token)
            except UnknownKey:
                pass
        return self._own.verify(token)

    async def verify_fetching(self, token: str) -> Actor:
        if self._other is not None:
            try:
                return self._other.verify(token)
            except UnknownKey:
                pass
        return await self._own.verify_fetching(token)


def _provider(s: AccessSettings) -> IdentityProvider:
    if not s.provider_issuer:
        return NoProvider()
    return OidcProvider(
        issuer=s.provider_issuer,
        audiences=s.provider_audiences,
        client_id=s.provider_client_id,
        client_secret=s.provider_client_secret,
        jwks_url=s.provider_jwks_url,
        introspection_url=s.provider_introspection_url,
        timeout_s=s.provider_timeout_s,
        jwks_min_refetch_s=s.provider_jwks_min_refetch_s,
        jwks_max_age_s=s.provider_jwks_max_age_s,
        ca_file=s.provider_ca_file,
    )


def _mailer(s: AccessSettings) -> Mailer:
    if not s.smtp_host:
        return NoMail()
    return SmtpMailer(
        host=s.smtp_host,
        port=s.smtp_port,
        sender=s.mail_from,
        starttls=s.smtp_starttls,
        user=s.smtp_user,
        password=s.smtp_password,
        timeout_s=s.smtp_timeout_s,
    )


def _development_keys(s: AccessSettings) -> TokenVerifier | None:
    """`cobuild token`'s keys, where the settings name them (never in production)."""
    if s.jwt_public_keys_file is None:
        return None
    source: KeySource = StaticKeys.from_file(s.jwt_public_keys_file, issuer=s.jwt_issuer)
    return JwtVerifier(
        KeySources([source]), audience=s.jwt_audience, max_lifetime_s=s.jwt_max_lifetime_s
    )


def definition(
    settings: AccessSettings | None = None,
    *,
    verifier: TokenVerifier | None = None,
    clock: Clock | None = None,
    provider: IdentityProvider | None = None,
    mailer: Mailer | None = None,
    wall: Callable[[], datetime] | None = None,
) -> ServiceDefinition[AccessSettings]:
    """`verifier`: tokens of other keys to accept besides this service's own (a test's
    issuer; by default the development keys of the settings). `provider`, `mailer` and
    `wall` replace the OIDC provider, the SMTP mailer and the wall clock (tests)."""
    s = settings or AccessSettings()
    ring = KeyRing(issuer=s.token_issuer, audience=s.jwt_audience, token_ttl_s=s.token_ttl_s)
    own = JwtVerifier(ring, audience=s.jwt_audience, max_lifetime_s=s.token_ttl_s + 60)
    return AccessDefinition(
        name="access",
        settings=s,
        migrations_package="cobuild_access",
        routers=[
            exchange.router,
            exchange.ops,
            grants.me,
            grants.router,
            invitations.router,
            invitations.links,
            audit.router,
        ],
        consumers=consumers.ALL,
        workers=list(workers.ALL),
        description=DESCRIPTION,
        verifier=AccessVerifier(own, verifier if verifier is not None else _development_keys(s)),
        clock=clock,
        parts=Parts(
            keys=ring,
            provider=provider or _provider(s),
            mailer=mailer or _mailer(s),
            wall=wall or wall_clock,
        ),
    )


def app() -> FastAPI:
    return create_app(definition())


def asyncapi_app() -> FastStream:
    return asyncapi(definition())
