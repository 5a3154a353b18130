"""Settings of the access service (environment prefix COBUILD_ACCESS_), and the runtime typed
by them: `RuntimeDep` for routers, `AccessRuntime` for use cases."""

from __future__ import annotations

from typing import Annotated

from cobuild_kit.service import Runtime, get_runtime
from cobuild_kit.settings import ServiceSettings, service_config
from fastapi import Depends
from pydantic import Field

DEFAULT_PORT = 8105


class AccessSettings(ServiceSettings):
    model_config = service_config("access")
    port: int = DEFAULT_PORT

    # --- Cobuild tokens (what the exchange issues) -------------------------------------
    # The `iss` of the tokens this service signs. Every other service verifies them with the
    # keys of GET /.well-known/jwks.json bound to this issuer (their `jwks_issuer`), so a
    # development key can never vouch for them, nor these keys for a `cobuild token`.
    token_issuer: str = "cobuild-access"
    # Cobuild tokens live 15 minutes (DESIGN §8); the services' revocation list covers the rest.
    token_ttl_s: int = Field(default=900, ge=60, le=3600)
    # A signing key signs for this long, then the next one takes over. The old key stays in
    # the JWKS until every token it signed has expired (token_ttl_s + the clock skew).
    signing_key_rotate_after_h: float = Field(default=24 * 7, gt=0)
    # A new key is published this long before it signs, so JWKS caches (which also refetch
    # on an unknown kid) and this service's other replicas hold it before its first token.
    signing_key_publish_ahead_s: float = Field(default=60.0, ge=0)
    # How often each replica reloads the key set and rotates when due.
    signing_key_check_interval_s: float = Field(default=30.0, gt=0)

    # --- the identity provider (OpenID Connect) -----------------------------------------
    # Its issuer URL: discovery at <issuer>/.well-known/openid-configuration. Plain http is
    # accepted on loopback only (the embedded Canaille in development).
    provider_issuer: str | None = None
    # The audiences an ID or access token (a JWT) may name: the console's client id, this
    # service's. Empty: the provider's client id below.
    provider_audiences: list[str] = Field(default_factory=list)
    # This service's client at the provider, for token introspection (opaque tokens, such
    # as Canaille's client-credentials tokens).
    provider_client_id: str | None = None
    provider_client_secret: str | None = None
    # Overrides of what discovery says (a provider behind another address).
    provider_jwks_url: str | None = None
    provider_introspection_url: str | None = None
    provider_timeout_s: float = 5.0
    # A PEM file of the certificate(s) the provider's TLS is checked against, instead of the
    # public CAs (an intranet's own CA, or the self-signed certificate of `cobuild run
    # --public-url ... --tls-cert ...`).
    provider_ca_file: str | None = None
    # An unknown kid refetches the provider's JWKS at most this often.
    provider_jwks_min_refetch_s: float = 5.0
    # The provider's JWKS is refetched after this long even with no unknown kid.
    provider_jwks_max_age_s: float = 3600.0

    # --- invitations -------------------------------------------------------------------
    # The console's public address: invitation links and their QR codes point there
    # (never 127.0.0.1 for a phone, DESIGN §8 "Reaching phones").
    public_url: str = "http://127.0.0.1:8100"
    # The console's page for an invitation: <public_url><invitation_path><token>.
    invitation_path: str = "/invite/"
    invitation_ttl_h: int = Field(default=72, ge=1, le=24 * 30)
    # Invitations whose address may be purged are looked for this often.
    invitation_purge_interval_s: float = 60.0
    # Public lookups of an invitation link (preview, QR), per client address.
    invitation_lookups_per_minute: int = 30

    # --- mail (invitations) ------------------------------------------------------------
    # No host: invitations are not mailed (the link and QR code are shown to the admin).
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_timeout_s: float = 10.0
    mail_from: str = "Cobuild <cobuild@localhost>"

    # --- the exchange and the audit -----------------------------------------------------
    # Exchanges per client address and minute (a wrong provider token costs a JWKS lookup
    # or an introspection at the provider). The console exchanges for all its users from one
    # address unless it is a trusted proxy (`trusted_proxies`): a token lives 15 minutes, so
    # 600 a minute is a few thousand people at work.
    exchanges_per_minute: int = 600
    # A sign-in is recorded once per provider session; the marks are kept this long.
    sign_in_marks_kept_h: int = 48


AccessRuntime = Runtime[AccessSettings]
RuntimeDep = Annotated[AccessRuntime, Depends(get_runtime)]
