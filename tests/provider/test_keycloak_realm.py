"""Production's Keycloak realm (deploy/keycloak/realm.json) has the embedded provider's clients:
the same ids, the same kinds (public with PKCE, confidential with client credentials), the same
callback, the same audience for introspection, and minutes-long access tokens."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from cobuild_stack.provider import ProviderSettings
from cobuild_stack.provider_clients import CONSOLE_CALLBACK_PATH, cobuild_clients

ROOT = Path(__file__).resolve().parents[2]
REALM = ROOT / "deploy" / "keycloak" / "realm.json"


def _realm() -> dict[str, Any]:
    realm: dict[str, Any] = json.loads(REALM.read_text())
    return realm


def test_the_realm_has_the_embedded_providers_clients() -> None:
    realm = _realm()
    clients = {c["clientId"]: c for c in realm["clients"]}
    embedded = {spec.client_id: spec for spec in cobuild_clients("http://127.0.0.1:8100")}
    assert set(clients) == set(embedded)
    for client_id, spec in embedded.items():
        client = clients[client_id]
        assert client["publicClient"] is (not spec.confidential), client_id
        assert client["standardFlowEnabled"] is ("authorization_code" in spec.grant_types)
        assert client["serviceAccountsEnabled"] is ("client_credentials" in spec.grant_types)
        assert client.get("directAccessGrantsEnabled") is False  # no password grant
        assert client.get("implicitFlowEnabled") is False
        # The access service is in every token's audience that it must introspect.
        if "cobuild-access" in spec.audience and client_id != "cobuild-access":
            mappers = client["protocolMappers"]
            assert any(
                m["protocolMapper"] == "oidc-audience-mapper"
                and m["config"]["included.client.audience"] == "cobuild-access"
                for m in mappers
            ), client_id
    console = clients["cobuild-console"]
    assert console["attributes"]["pkce.code.challenge.method"] == "S256"
    assert [u.rsplit("}", 1)[1] for u in console["redirectUris"]] == [CONSOLE_CALLBACK_PATH]


def test_the_realm_keeps_tokens_short_and_speaks_chinese() -> None:
    realm = _realm()
    assert realm["accessTokenLifespan"] == ProviderSettings().access_token_ttl_s
    assert realm["sslRequired"] == "external" and realm["bruteForceProtected"] is True
    assert realm["registrationAllowed"] is False
    assert realm["defaultLocale"] == "zh-CN" and "zh-CN" in realm["supportedLocales"]


def test_compose_imports_the_realm_with_defaults_for_every_placeholder() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    keycloak = compose["services"]["keycloak"]
    assert "--import-realm" in keycloak["command"]
    assert any(
        v.startswith("./deploy/keycloak/realm.json:/opt/keycloak/data/import/")
        for v in keycloak["volumes"]
    )
    assert all(str(p).startswith("127.0.0.1:") for p in keycloak["ports"])
    env = keycloak["environment"]
    placeholders = {
        name.split(":")[0] for name in re.findall(r"\$\{([A-Z_]+(?::[^}]*)?)\}", REALM.read_text())
    }
    assert placeholders <= set(env), f"compose does not pass {sorted(placeholders - set(env))}"
