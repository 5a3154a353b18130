"""What the deployment files say, parsed, and what the services' code says, introspected.

No Docker engine is needed: the compose file, the Kubernetes manifests and the Dockerfile are
read as data and compared with the settings classes and apps of the services. The fixtures
that serve these live in conftest.py.
"""

from __future__ import annotations

import importlib
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cobuild_kit.settings import ServiceSettings
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
K8S = ROOT / "deploy" / "k8s"
K8S_BASE = K8S / "base"
TOPICS_SCRIPT = K8S_BASE / "kafka" / "create-topics.sh"
# The services on the kit: each with its database, the broker and token keys.
BACKENDS = (
    "agreements",
    "commitments",
    "points",
    "evaluation",
    "access",
    "escalations",
    "notifications",
)
# The workbench: a backend-for-frontend on settings of its own (no database, broker or keys).
CONSOLE = "console"
SERVICES = (*BACKENDS, CONSOLE)
# The service whose JWKS every other backend verifies the exchanged tokens with.
ACCESS = "access"
JWKS_PATH = "/.well-known/jwks.json"

# Settings every deployment must give explicitly: where things are and how to reach them.
DEPLOYMENT_FIELDS = {
    "host",
    "port",
    "database_url",
    "kafka_bootstrap",
    "kafka_idempotence",
    "jwt_public_keys_file",
    "data_dir",
}
# A field a service adds later with one of these endings points outside the process, so it
# differs between deployments and must be set too (an S3 endpoint, a bucket, a board URL...).
DEPLOYMENT_SUFFIXES = ("_url", "_bootstrap", "_file", "_dir", "_endpoint", "_bucket", "_host")
# Fields whose names say "address" but whose absence is a decision, not an omission: named
# here one by one, with the reason, so a new address field is still required everywhere.
OPTIONAL_FIELDS: dict[str, set[str]] = {
    # The access service checks the tokens it issues with its own keys (no JWKS of its own to
    # fetch), and discovery finds the provider's keys and introspection endpoint.
    ACCESS: {"jwks_url", "provider_jwks_url", "provider_introspection_url", "provider_ca_file"},
    # The provider's TLS is checked against the public CAs unless a file is named (an
    # intranet's own CA); the console serves plain http behind the ingress that terminates TLS
    # unless it is given a certificate (`cobuild run --public-url ... --tls-cert ...`).
    CONSOLE: {"tls_cert_file", "tls_key_file"},
}


def _prefix(service: str) -> str:
    return f"COBUILD_{service.upper()}_"


def settings_class(service: str) -> type[BaseSettings]:
    """The service's settings class, found in cobuild_<service>.settings (not a fixed name):
    the one reading COBUILD_<SERVICE>_*. A backend's subclasses the kit's ServiceSettings."""
    module = importlib.import_module(f"cobuild_{service}.settings")
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, BaseSettings)
        and value.model_config.get("env_prefix") == _prefix(service)
    ]
    assert found, f"cobuild_{service}.settings defines no settings class for {service!r}"
    cls = found[0]
    if service in BACKENDS:
        assert issubclass(cls, ServiceSettings) and cls.service == service, cls
    return cls


def env_names(cls: type[BaseSettings]) -> dict[str, str]:
    """{ENV_NAME: field name} for every field the class reads from the environment."""
    prefix = str(cls.model_config.get("env_prefix", "")).upper()
    names: dict[str, str] = {}
    for name, info in cls.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            for choice in alias.choices:
                if isinstance(choice, str) and choice.upper() == choice:
                    names[choice] = name
            continue
        if isinstance(alias, str):
            names[alias.upper()] = name
            continue
        names[f"{prefix}{name.upper()}"] = name
    return names


def required_env(cls: type[BaseSettings]) -> set[str]:
    """The variables a deployment must set: no default, or deployment-specific by nature."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    optional = OPTIONAL_FIELDS.get(prefix.removeprefix("COBUILD_").rstrip("_").lower(), set())
    wanted = {
        name
        for name, info in cls.model_fields.items()
        if info.is_required()
        or name in DEPLOYMENT_FIELDS
        or (name.endswith(DEPLOYMENT_SUFFIXES) and name not in optional)
    }
    return {env for env, name in env_names(cls).items() if name in wanted}


def default_port(service: str) -> int:
    port = settings_class(service).model_fields["port"].default
    assert isinstance(port, int) and port > 0, f"{service} has no default port"
    return port


# -- compose -----------------------------------------------------------------------------------

_INTERPOLATION = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


def interpolate(value: str, env: dict[str, str] | None = None) -> str:
    """Compose's ${VAR:-default} / ${VAR-default} / ${VAR}, from `env` (not os.environ)."""
    env = env or {}

    def one(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        assert default is not None, f"${{{name}}} has no default: compose up would need it"
        return default

    return _INTERPOLATION.sub(one, value)


def compose_env(service_def: dict[str, Any]) -> dict[str, str]:
    raw = service_def.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {k: interpolate(_scalar(v)) for k, v in raw.items()}


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- kubernetes --------------------------------------------------------------------------------


@dataclass
class K8sBase:
    docs: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)

    def of_kind(self, kind: str, under: str | None = None) -> list[dict[str, Any]]:
        return [
            doc
            for path, doc in self.docs
            if doc.get("kind") == kind and (under is None or path.parent.name == under)
        ]

    def named(self, kind: str, name: str) -> dict[str, Any]:
        found = [d for d in self.of_kind(kind) if d["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
        return found[0]


def k8s_env(k8s: K8sBase, service: str) -> dict[str, str]:
    """The environment the service's Deployment gets: envFrom its ConfigMap and Secret."""
    deployment = k8s.named("Deployment", service)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(k8s.named("ConfigMap", source["configMapRef"]["name"])["data"])
        if "secretRef" in source:
            env.update(k8s.named("Secret", source["secretRef"]["name"])["stringData"])
    for item in container.get("env", []):
        env[item["name"]] = item.get("value", "")
    return {k: str(v) for k, v in env.items()}


# -- Dockerfile --------------------------------------------------------------------------------


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]

    def last(self, keyword: str) -> str:
        found = self.all(keyword)
        assert found, f"stage {self.name} has no {keyword}"
        return found[-1]

    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for args in self.all("ENV"):
            for pair in shlex.split(args):
                key, _, value = pair.partition("=")
                out[key] = value
        return out


def parse_dockerfile(text: str) -> dict[str, Stage]:
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for line in lines:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = args.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else parts[0]
            current = Stage(name, parts[0])
            stages[name] = current
        elif current is not None:
            current.instructions.append((keyword, args.strip()))
    return stages


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"not exec form: {args}"
    return [str(v) for v in value]
