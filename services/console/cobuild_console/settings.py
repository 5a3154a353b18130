"""Settings of the workbench (environment prefix COBUILD_CONSOLE_)."""

from __future__ import annotations

import secrets

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORT = 8100
SERVICE_PORTS = {
    "agreements": 8101,
    "commitments": 8102,
    "points": 8103,
    "evaluation": 8104,
    "escalations": 8106,
    "notifications": 8107,
}


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COBUILD_CONSOLE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    # The address people reach the console at: sign-in redirects and links use it, never the
    # bind address (a phone cannot reach 127.0.0.1). Empty: http://<host>:<port>.
    public_url: str = ""

    # The OIDC provider (Canaille embedded by the launcher; any provider in production).
    oidc_issuer: str = ""
    oidc_client_id: str = "cobuild-console"
    oidc_client_secret: str = ""
    oidc_scopes: str = "openid profile email"
    # Which of the provider's tokens the access service's exchange is given.
    exchange_subject_token: str = "access_token"

    access_url: str = "http://127.0.0.1:8105"
    service_urls: dict[str, str] = Field(
        default_factory=lambda: {n: f"http://127.0.0.1:{p}" for n, p in SERVICE_PORTS.items()}
    )
    upstream_timeout_s: float = 15.0
    # The reverse proxies (an ingress) whose X-Forwarded-For is believed: addresses or
    # networks, comma-separated. The browser's address is forwarded to the access service,
    # whose limits count per address. Empty: none (uvicorn would believe 127.0.0.1's).
    trusted_proxies: str = ""
    # Serving TLS itself (`cobuild run --public-url https://... --tls-cert ... --tls-key ...`);
    # empty: plain http (on loopback, or behind a proxy that terminates TLS).
    tls_cert_file: str = ""
    tls_key_file: str = ""

    # Signs the session cookie (which holds a session id only). Generated per process when
    # unset: sessions live in this process's memory anyway and end with it.
    session_secret: str = Field(default_factory=lambda: secrets.token_urlsafe(32))
    session_idle_minutes: int = 30
    session_max_count: int = 10_000
    # Secure cookies: on when the public URL is https (a browser drops them on plain http).
    cookie_secure: bool | None = None

    # The to-do page lists commitments due within this many days after the overdue ones.
    todo_due_days: int = 14
    default_locale: str = "zh_CN"
    log_level: str = "INFO"
    clock: str = Field(default="system", validation_alias=AliasChoices("COBUILD_CLOCK", "clock"))

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.base_url.startswith("https://")
