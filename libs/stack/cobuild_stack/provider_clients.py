"""Cobuild's clients at the OpenID Connect provider, as Canaille's command line takes them.

- `console`: the console's sign-in, authorization code with PKCE, a public client;
- `integration`: a confidential client for integrations and the driver (client credentials);
- `access`: the access service's own confidential client, a resource server: it introspects
  the others' opaque client-credentials tokens (both name it in their audience, because
  Canaille answers a client only about tokens whose audience names it) and provisions
  accounts through SCIM.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

CONSOLE_DEFAULT_URL = "http://127.0.0.1:8100"
# The console's pages the provider sends people back to (services/console: usecases/signin.py).
CONSOLE_CALLBACK_PATH = "/signin/callback"
CONSOLE_SIGNED_OUT_PATH = "/signed-out"
SCOPES_FOR_PEOPLE = ("openid", "profile", "email", "phone")


@dataclass(frozen=True)
class ClientSpec:
    """One client as Canaille's `create client` / `set client` options take it."""

    key: str  # its name in stack.json's provider.clients
    client_id: str
    client_name: str
    grant_types: tuple[str, ...]
    response_types: tuple[str, ...]
    token_endpoint_auth_method: str
    scope: tuple[str, ...]
    redirect_uris: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    client_uri: str = ""
    audience: tuple[str, ...] = ()  # client ids, itself included

    @property
    def confidential(self) -> bool:
        return self.token_endpoint_auth_method != "none"

    def options(self, secret: str) -> list[str]:
        argv = [
            "--client-id",
            self.client_id,
            "--client-name",
            self.client_name,
            "--token-endpoint-auth-method",
            self.token_endpoint_auth_method,
        ]
        if self.confidential:
            argv += ["--client-secret", secret]
        if self.client_uri:
            argv += ["--client-uri", self.client_uri]
        for option, values in (
            ("--grant-types", self.grant_types),
            ("--response-types", self.response_types),
            ("--scope", self.scope),
            ("--redirect-uris", self.redirect_uris),
            ("--post-logout-redirect-uris", self.post_logout_redirect_uris),
        ):
            for value in values:
                argv += [option, value]
        return argv

    def state(self, model_id: str, secret: str, ids: Mapping[str, str]) -> dict[str, Any]:
        """The client as `canaille dump` writes it and `canaille restore` reads it."""
        state: dict[str, Any] = {
            "id": model_id,
            "client_id": self.client_id,
            "client_name": self.client_name,
            "client_id_issued_at": datetime.now(UTC).isoformat(),
            "grant_types": list(self.grant_types),
            "response_types": list(self.response_types),
            "scope": list(self.scope),
            "redirect_uris": list(self.redirect_uris),
            "post_logout_redirect_uris": list(self.post_logout_redirect_uris),
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "audience": [ids[client_id] for client_id in self.audience],
        }
        if self.client_uri:
            state["client_uri"] = self.client_uri
        if self.confidential:
            state["client_secret"] = secret
        return state

    def differs_from(self, stored: Mapping[str, Any], secret: str) -> bool:
        def listed(name: str) -> list[str]:
            return sorted(str(v) for v in stored.get(name) or [])

        return (
            listed("grant_types") != sorted(self.grant_types)
            or listed("response_types") != sorted(self.response_types)
            or listed("scope") != sorted(self.scope)
            or listed("redirect_uris") != sorted(self.redirect_uris)
            or listed("post_logout_redirect_uris") != sorted(self.post_logout_redirect_uris)
            or (stored.get("client_uri") or "") != self.client_uri
            or stored.get("token_endpoint_auth_method") != self.token_endpoint_auth_method
            or (self.confidential and stored.get("client_secret") != secret)
            or len(stored.get("audience") or []) != len(self.audience)
        )


def console_redirect_uri(console_url: str) -> str:
    return console_url.rstrip("/") + CONSOLE_CALLBACK_PATH


def cobuild_clients(console_url: str, *, driver: bool = False) -> tuple[ClientSpec, ...]:
    """Cobuild's clients, in the order they must be made (an audience names made ones); with
    `driver`, also the main job's (ProviderSettings.driver_client)."""
    access = ClientSpec(
        key="access",
        client_id="cobuild-access",
        client_name="Cobuild access service",
        grant_types=("client_credentials",),
        response_types=(),
        token_endpoint_auth_method="client_secret_basic",
        scope=("openid",),
        audience=("cobuild-access",),
    )
    integration = ClientSpec(
        key="integration",
        client_id="cobuild-integration",
        client_name="Cobuild integrations",
        grant_types=("client_credentials",),
        response_types=(),
        token_endpoint_auth_method="client_secret_basic",
        scope=("openid",),
        # The access service introspects these opaque tokens: Canaille answers a client
        # only about tokens whose audience names it.
        audience=("cobuild-integration", "cobuild-access"),
    )
    base = console_url.rstrip("/")
    console = ClientSpec(
        key="console",
        client_id="cobuild-console",
        client_name="契约化共建工作台",
        grant_types=("authorization_code", "refresh_token"),
        response_types=("code",),
        token_endpoint_auth_method="none",  # public: PKCE, and the secret stays nowhere
        scope=SCOPES_FOR_PEOPLE,
        redirect_uris=(console_redirect_uri(base),),
        post_logout_redirect_uris=(base + CONSOLE_SIGNED_OUT_PATH, base + "/"),
        client_uri=base,
        audience=("cobuild-console", "cobuild-access"),
    )
    if not driver:
        return (access, integration, console)
    scenario = ClientSpec(
        key="driver",
        client_id="cobuild-driver",
        client_name="Cobuild main job",
        grant_types=("password",),
        response_types=(),
        token_endpoint_auth_method="client_secret_basic",
        scope=SCOPES_FOR_PEOPLE,
        audience=("cobuild-driver", "cobuild-access"),
    )
    return (access, integration, console, scenario)
