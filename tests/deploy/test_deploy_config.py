"""The deployment files agree with the services' code: env, ports, commands, health checks."""

from __future__ import annotations

import importlib
import importlib.util
import ipaddress
import json
import re
import shutil
import subprocess
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from cobuild_console.gateways.services import SERVICES as CONSOLE_CALLS
from cobuild_contracts.topics import ALL_TOPICS, dlq
from cobuild_stack.console import CALLED as LAUNCHER_CALLS
from deploy_support import (
    ACCESS,
    BACKENDS,
    COMPOSE,
    CONSOLE,
    JWKS_PATH,
    K8S_BASE,
    ROOT,
    SERVICES,
    TOPICS_SCRIPT,
    K8sBase,
    Stage,
    compose_env,
    default_port,
    env_names,
    exec_form,
    interpolate,
    k8s_env,
    required_env,
    settings_class,
)
from starlette.routing import Match

SERVICE_KINDS = {"Deployment", "Service", "ConfigMap", "Secret", "HorizontalPodAutoscaler"}


# -- parsing and shape -----------------------------------------------------------------------


def test_compose_has_the_whole_suite(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in SERVICES:
        assert name in services, f"compose has no {name} service"
    for name in BACKENDS:
        assert f"{name}-db" in services, f"compose has no database for {name}"
    assert f"{CONSOLE}-db" not in services, "the console holds no data"
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:"), "Kafka must be the official image"
    env = {k: str(v) for k, v in kafka["environment"].items()}
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}, "KRaft mode"
    listeners = {item.split("://")[0] for item in env["KAFKA_LISTENERS"].split(",")}
    assert {"INTERNAL", "EXTERNAL", "CONTROLLER"} <= listeners
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] == "INTERNAL"
    assert "healthcheck" in kafka
    for job in ("topics", "keygen"):
        assert services[job].get("restart") == "no", f"{job} is a one-shot job"


def test_every_manifest_parses_with_the_expected_kinds(k8s: K8sBase) -> None:
    assert k8s.docs, "no manifests under deploy/k8s"
    for path, doc in k8s.docs:
        assert "kind" in doc and "apiVersion" in doc, f"{path}: not a Kubernetes object"
    for name in SERVICES:
        kinds = {doc["kind"] for doc in k8s.of_kind("Deployment", name)} | {
            doc["kind"] for path, doc in k8s.docs if path.parent.name == name
        }
        assert kinds >= SERVICE_KINDS, f"{name}: missing {SERVICE_KINDS - kinds}"
    job = k8s.named("Job", "cobuild-topics")
    assert job["spec"]["template"]["spec"]["containers"][0]["image"].startswith("apache/kafka:")


def test_every_kustomization_entry_exists(k8s: K8sBase) -> None:
    for kustomization in K8S_BASE.rglob("kustomization.yaml"):
        doc = yaml.safe_load(kustomization.read_text())
        entries = list(doc.get("resources", []))
        for generator in doc.get("configMapGenerator", []):
            entries += [f.split("=", 1)[-1] for f in generator.get("files", [])]
        for entry in entries:
            assert (kustomization.parent / entry).exists(), f"{kustomization}: {entry} missing"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_renders_the_base() -> None:
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(K8S_BASE)], capture_output=True, text=True, timeout=60
    )
    assert rendered.returncode == 0, rendered.stderr
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {"cobuild"}
    generated = {d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap"}
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert set(deployments) == set(SERVICES)
    for name in BACKENDS:  # the console verifies no token: it mounts no keys
        volumes = deployments[name]["spec"]["template"]["spec"]["volumes"]
        keys = next(v for v in volumes if v["name"] == "jwt-public-keys")
        assert keys["configMap"]["name"] in generated, "generated name not rewritten"


# -- environment: what the settings classes read -------------------------------------------


def _check_env(where: str, service: str, env: dict[str, str]) -> None:
    cls = settings_class(service)
    known = env_names(cls)
    missing = required_env(cls) - env.keys()
    assert not missing, f"{where} {service}: not set: {sorted(missing)}"
    unknown = {k for k in env if k.startswith("COBUILD_")} - known.keys()
    assert not unknown, f"{where} {service}: the settings class does not read {sorted(unknown)}"


def _settings_from(monkeypatch: pytest.MonkeyPatch, service: str, env: dict[str, str]) -> Any:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return settings_class(service)()


@pytest.mark.parametrize("service", BACKENDS)
def test_compose_sets_what_the_service_reads(
    compose: dict[str, Any], clean_env: pytest.MonkeyPatch, service: str
) -> None:
    env = compose_env(compose["services"][service])
    _check_env("compose", service, env)
    settings = _settings_from(clean_env, service, env)
    assert settings.kafka_idempotence is True, "real Kafka: the idempotent producer is on"
    assert settings.host == "0.0.0.0", "a container must listen beyond its loopback"
    assert settings.kafka_bootstrap == "kafka:29092", "the broker's INTERNAL listener"


@pytest.mark.parametrize("service", BACKENDS)
def test_k8s_sets_what_the_service_reads(
    k8s: K8sBase, clean_env: pytest.MonkeyPatch, service: str
) -> None:
    env = k8s_env(k8s, service)
    _check_env("k8s", service, env)
    secret = k8s.named("Secret", f"cobuild-{service}-db")["stringData"]
    db_vars = [k for k in env_names(settings_class(service)) if k.endswith("_DATABASE_URL")]
    assert set(db_vars) <= secret.keys(), "the database URL (a password) belongs in the Secret"
    settings = _settings_from(clean_env, service, env)
    assert settings.kafka_idempotence is True
    assert settings.host == "0.0.0.0"


def _envs(compose: dict[str, Any], k8s: K8sBase) -> dict[str, dict[str, dict[str, str]]]:
    """{"compose" | "k8s": {service: its environment}}."""
    return {
        "compose": {s: compose_env(compose["services"][s]) for s in SERVICES},
        "k8s": {s: k8s_env(k8s, s) for s in SERVICES},
    }


def test_every_service_verifies_the_access_services_tokens(
    compose: dict[str, Any], k8s: K8sBase, clean_env: pytest.MonkeyPatch
) -> None:
    """Each backend but access fetches the access service's JWKS, bound to its issuer."""
    assert _serves(ACCESS, JWKS_PATH) == {JWKS_PATH: True}
    for where, envs in _envs(compose, k8s).items():
        access = _settings_from(clean_env, ACCESS, envs[ACCESS])
        for service in BACKENDS:
            prefix = f"COBUILD_{service.upper()}_"
            env = envs[service]
            if service == ACCESS:
                assert f"{prefix}JWKS_URL" not in env, "access checks its own tokens itself"
                continue
            url = urlsplit(env.get(f"{prefix}JWKS_URL", ""))
            assert (url.scheme, url.hostname, url.port, url.path) == (
                "http",
                ACCESS,
                default_port(ACCESS),
                JWKS_PATH,
            ), f"{where} {service}: {url.geturl()!r}"
            issuer = env.get(f"{prefix}JWKS_ISSUER")
            assert issuer == access.token_issuer, f"{where} {service}: JWKS_ISSUER {issuer!r}"
            assert issuer != env[f"{prefix}JWT_ISSUER"], "one issuer per key source"


@pytest.mark.parametrize("where", ["compose", "k8s"])
def test_the_console_and_access_share_the_provider(
    compose: dict[str, Any], k8s: K8sBase, clean_env: pytest.MonkeyPatch, where: str
) -> None:
    envs = _envs(compose, k8s)[where]
    _check_env(where, CONSOLE, envs[CONSOLE])
    console = _settings_from(clean_env, CONSOLE, envs[CONSOLE])
    access = _settings_from(clean_env, ACCESS, envs[ACCESS])
    assert console.host == "0.0.0.0"
    # One provider: the console signs people in where the access service checks their tokens.
    assert console.oidc_issuer and console.oidc_issuer == access.provider_issuer
    audiences = access.provider_audiences or [access.provider_client_id]
    assert console.oidc_client_id in audiences, "the exchange refuses the console's tokens"
    assert access.provider_client_id and access.provider_client_secret is not None
    # Invitation links lead to the console people reach.
    assert console.public_url and console.public_url == access.public_url
    # The console reaches the access service and the four services by their names and ports.
    url = urlsplit(console.access_url)
    assert (url.hostname, url.port) == (ACCESS, default_port(ACCESS))
    assert set(console.service_urls) == set(CONSOLE_CALLS) == set(LAUNCHER_CALLS)
    for name, target in console.service_urls.items():
        url = urlsplit(target)
        assert (url.hostname, url.port) == (name, default_port(name)), target


def test_compose_points_access_and_console_at_keycloak(compose: dict[str, Any]) -> None:
    """The realm's clients are the ones the console and the access service name."""
    realm = json.loads((ROOT / "deploy" / "keycloak" / "realm.json").read_text())
    clients = {c["clientId"]: c for c in realm["clients"]}
    keycloak = compose_env(compose["services"]["keycloak"])
    console = compose_env(compose["services"][CONSOLE])
    access = compose_env(compose["services"][ACCESS])
    issuer = f"{keycloak['KC_HOSTNAME'].rstrip('/')}/realms/{realm['realm']}"
    assert console["COBUILD_CONSOLE_OIDC_ISSUER"] == issuer
    assert access["COBUILD_ACCESS_PROVIDER_ISSUER"] == issuer
    assert clients[console["COBUILD_CONSOLE_OIDC_CLIENT_ID"]]["publicClient"] is True
    assert console["COBUILD_CONSOLE_OIDC_CLIENT_SECRET"] == "", "a public client has no secret"
    confidential = clients[access["COBUILD_ACCESS_PROVIDER_CLIENT_ID"]]
    assert not confidential.get("publicClient")
    # The realm reads its secret from Keycloak's environment: the same value as the service's.
    placeholder = re.fullmatch(r"\$\{(\w+):[^}]*\}", confidential["secret"])
    assert placeholder, confidential["secret"]
    assert keycloak[placeholder.group(1)] == access["COBUILD_ACCESS_PROVIDER_CLIENT_SECRET"]
    # Sign-in callbacks: the realm's redirect is built from the console's public URL.
    assert keycloak["COBUILD_CONSOLE_PUBLIC_URL"] == console["COBUILD_CONSOLE_PUBLIC_URL"]


def test_k8s_keeps_the_provider_secret_out_of_the_configmap(k8s: K8sBase) -> None:
    config = k8s.named("ConfigMap", f"cobuild-{ACCESS}-config")["data"]
    assert "COBUILD_ACCESS_PROVIDER_CLIENT_SECRET" not in config
    assert "COBUILD_ACCESS_PROVIDER_CLIENT_SECRET" in k8s_env(k8s, ACCESS)
    console = k8s.named("ConfigMap", f"cobuild-{CONSOLE}-config")["data"]
    assert "COBUILD_CONSOLE_OIDC_CLIENT_SECRET" not in console


@pytest.mark.parametrize("service", SERVICES)
def test_image_env_is_known_to_the_service(dockerfile: dict[str, Stage], service: str) -> None:
    image_env = dockerfile[service].env()
    unknown = {k for k in image_env if k.startswith("COBUILD_")} - env_names(
        settings_class(service)
    ).keys()
    assert not unknown, f"image {service} sets {sorted(unknown)}, which the service never reads"
    assert image_env[f"COBUILD_{service.upper()}_HOST"] == "0.0.0.0"


# -- command, port, health check --------------------------------------------------------------


def _serves(service: str, *paths: str) -> dict[str, bool]:
    """Whether the service's app has a GET route for each path (asked the way a request is)."""
    module = importlib.import_module(f"cobuild_{service}.app")
    # Built, never started: nothing connects. The console's factory has its own name.
    app = module.create_app() if service == CONSOLE else module.app()
    out = {}
    for path in paths:
        scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": []}
        out[path] = any(route.matches(scope)[0] == Match.FULL for route in app.routes)
    return out


@pytest.mark.parametrize("service", SERVICES)
def test_image_command_port_and_health_check_match_the_code(
    dockerfile: dict[str, Stage],
    compose: dict[str, Any],
    k8s: K8sBase,
    clean_env: pytest.MonkeyPatch,
    service: str,
) -> None:
    module = f"cobuild_{service}"
    assert importlib.util.find_spec(f"{module}.__main__") is not None, f"{module} not runnable"
    port = default_port(service)
    assert _serves(service, "/readyz", "/healthz", "/no/such/path") == {
        "/readyz": True,
        "/healthz": True,
        "/no/such/path": False,
    }

    stage = dockerfile[service]
    assert stage.base.startswith("base"), "every service image derives from the shared base"
    assert exec_form(stage.last("CMD")) == ["python", "-m", module]
    assert stage.last("EXPOSE").split() == [str(port)]
    assert stage.last("USER") not in {"root", "0"}
    health = stage.last("HEALTHCHECK")
    assert "/readyz" in health and f"'{port}'" in health, health

    svc = compose["services"][service]
    assert svc["build"]["target"] == service
    env = compose_env(svc)
    assert env[f"COBUILD_{service.upper()}_PORT"] == str(port)
    published = [str(p).rsplit(":", 1)[-1] for p in svc["ports"]]
    assert published == [str(port)], f"compose publishes {svc['ports']}"
    test = " ".join(svc["healthcheck"]["test"])
    assert f"127.0.0.1:{port}/readyz" in test

    deployment = k8s.named("Deployment", service)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container.get("command", ["python", "-m", module]) == ["python", "-m", module]
    assert [p["containerPort"] for p in container["ports"]] == [port]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    probes = [
        container[p]["httpGet"]["path"] for p in ("readinessProbe", "livenessProbe", "startupProbe")
    ]
    assert all(_serves(service, *probes).values()), probes
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert k8s_env(k8s, service)[f"COBUILD_{service.upper()}_PORT"] == str(port)
    k8s_service = k8s.named("Service", service)
    assert [p["port"] for p in k8s_service["spec"]["ports"]] == [port]


def test_only_the_public_board_is_published_beyond_the_host(compose: dict[str, Any]) -> None:
    public = {
        name
        for name in SERVICES
        for mapping in compose["services"][name]["ports"]
        if not str(mapping).startswith("127.0.0.1:")
    }
    assert public == {"evaluation"}


def test_compose_mails_go_to_its_mail_catcher(compose: dict[str, Any]) -> None:
    """docker compose up keeps every mail in the catcher (mailpit, a pinned release), whose
    web page is on the host's loopback only; the notifications and access services and the
    provider send to it unless a relay is named."""
    services = compose["services"]
    catcher = services["mailpit"]
    image, _, tag = catcher["image"].partition(":")
    assert image == "axllent/mailpit" and re.fullmatch(r"v\d+\.\d+\.\d+", tag), tag
    assert all(str(p).startswith("127.0.0.1:") for p in catcher["ports"])
    for service in ("notifications", "access"):
        env = compose_env(services[service])
        key = f"COBUILD_{service.upper()}_SMTP"
        assert (env[f"{key}_HOST"], env[f"{key}_PORT"]) == ("mailpit", "1025"), service
        relay = {f"{service.upper()}_SMTP_HOST": "relay.example.org"}
        raw = services[service]["environment"][f"{key}_HOST"]
        assert interpolate(raw, relay) == "relay.example.org"
        assert interpolate(raw, {f"{service.upper()}_SMTP_HOST": ""}) == "", "off when empty"
    keycloak = compose_env(services["keycloak"])
    assert (keycloak["KEYCLOAK_SMTP_HOST"], keycloak["KEYCLOAK_SMTP_PORT"]) == ("mailpit", "1025")
    # The channels through apprise are off until their URLs are set.
    env = compose_env(services["notifications"])
    for channel in ("SMS", "WECOM", "DINGTALK", "WECHAT"):
        assert env[f"COBUILD_NOTIFICATIONS_{channel}_URL"] == ""


def test_the_services_believe_x_forwarded_for_from_the_console_only(
    compose: dict[str, Any], k8s: K8sBase
) -> None:
    """The console forwards each browser's address (X-Forwarded-For) on every call: each
    backend believes it from the console and from no one else. In compose that is the
    console's fixed address, outside the range the other containers are given, and not the
    gateway that the public board's published port is reached through; in Kubernetes the pods'
    network. The console believes its own proxy's (the TLS proxy, the Ingress)."""
    network = compose["networks"]["default"]["ipam"]["config"][0]
    console_ip = ipaddress.ip_address(
        compose["services"][CONSOLE]["networks"]["default"]["ipv4_address"]
    )
    assert console_ip in ipaddress.ip_network(network["subnet"])
    assert console_ip not in ipaddress.ip_network(network["ip_range"])
    gateway = next(ipaddress.ip_network(network["subnet"]).hosts())
    for service in BACKENDS:
        key = f"COBUILD_{service.upper()}_TRUSTED_PROXIES"
        assert compose_env(compose["services"][service])[key] == str(console_ip), service
        assert k8s_env(k8s, service)[key] == "10.244.0.0/16", service
    console_key = "COBUILD_CONSOLE_TRUSTED_PROXIES"
    assert compose_env(compose["services"][CONSOLE])[console_key] == str(gateway)
    assert k8s_env(k8s, CONSOLE)[console_key] == "10.244.0.0/16"


def test_the_images_start_from_python_311_slim(dockerfile: dict[str, Stage]) -> None:
    text = (ROOT / "deploy" / "docker" / "Dockerfile").read_text()
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    assert dockerfile["base"].base == "${PYTHON_IMAGE}"
    assert any("useradd" in run for run in dockerfile["base"].all("RUN"))


def test_the_images_install_from_the_pins() -> None:
    spec = importlib.util.spec_from_file_location("pin", ROOT / "deploy" / "docker" / "pin.py")
    assert spec and spec.loader
    pin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pin)
    needed = pin.closure(pin.ROOTS)
    pinned = {}
    for line in (ROOT / "deploy" / "docker" / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pinned[pin.canonical(name)] = version
    unpinned = sorted(set(needed) - set(pinned))
    assert not unpinned, f"not pinned (run deploy/docker/pin.py): {unpinned}"
    text = (ROOT / "deploy" / "docker" / "Dockerfile").read_text()
    installs = re.findall(r"pip install ([^\n]+)", text)
    assert installs and all("-c /src/constraints.txt" in line for line in installs)


# -- compose wiring --------------------------------------------------------------------------


@pytest.mark.parametrize("service", BACKENDS)
def test_compose_starts_a_service_after_what_it_needs(
    compose: dict[str, Any], service: str
) -> None:
    services = compose["services"]
    svc = services[service]
    conditions = {name: dep["condition"] for name, dep in svc["depends_on"].items()}
    assert conditions == {
        f"{service}-db": "service_healthy",
        "kafka": "service_healthy",
        "topics": "service_completed_successfully",
        "keygen": "service_completed_successfully",
    }
    db = services[f"{service}-db"]
    assert "healthcheck" in db
    assert any(str(v).endswith("/var/lib/postgresql/data") for v in db["volumes"])
    assert {"max_wal_size=8GB", "checkpoint_timeout=15min"} <= set(db["command"])
    db_env = compose_env(db)
    url = urlsplit(compose_env(svc)[f"COBUILD_{service.upper()}_DATABASE_URL"])
    assert (url.hostname, url.port) == (f"{service}-db", 5432)
    assert url.username == db_env["POSTGRES_USER"]
    assert url.password == db_env["POSTGRES_PASSWORD"]
    assert url.path.lstrip("/") == db_env["POSTGRES_DB"]
    # The keys the service verifies with come from the volume the keygen job writes.
    keys_file = compose_env(svc)[f"COBUILD_{service.upper()}_JWT_PUBLIC_KEYS_FILE"]
    keygen = services["keygen"]
    public_volume = next(v for v in keygen["volumes"] if v.endswith(":/run/cobuild/keys"))
    assert f"{public_volume}:ro" in svc["volumes"]
    assert keys_file in keygen["command"], "keygen writes the file the service reads"


def test_compose_starts_the_console_after_the_access_service(compose: dict[str, Any]) -> None:
    """It needs the exchange to sign anyone in; the services it calls may come later."""
    console = compose["services"][CONSOLE]
    assert console["depends_on"] == {ACCESS: {"condition": "service_healthy"}}
    assert "volumes" not in console, "it keeps nothing on disk"


def test_passwords_can_be_overridden() -> None:
    text = COMPOSE.read_text()
    assert interpolate("${AGREEMENTS_DB_PASSWORD:-x}", {"AGREEMENTS_DB_PASSWORD": "s"}) == "s"
    for service in BACKENDS:
        assert text.count(f"${{{service.upper()}_DB_PASSWORD:-") >= 2


# -- topics ------------------------------------------------------------------------------------


def test_the_topic_job_creates_every_topic_without_compaction() -> None:
    script = TOPICS_SCRIPT.read_text()
    listed = re.search(r'EVENT_TOPICS="([^"]+)"', script)
    assert listed and tuple(listed.group(1).split()) == ALL_TOPICS
    assert '"$topic.dlq"' in script and dlq("x") == "x.dlq"
    assert "cleanup.policy=delete" in script
    assert "compact" not in script.replace("No compaction", "").replace("compaction would", "")


def test_partitions_bound_the_autoscalers(compose: dict[str, Any], k8s: K8sBase) -> None:
    compose_topics = compose_env(compose["services"]["topics"])
    k8s_topics = k8s.named("ConfigMap", "cobuild-kafka-topics")["data"]
    partitions = int(k8s_topics["PARTITIONS"])
    assert int(compose_topics["PARTITIONS"]) == partitions
    for hpa in k8s.of_kind("HorizontalPodAutoscaler"):
        spec = hpa["spec"]
        assert 1 <= spec["minReplicas"] <= spec["maxReplicas"] <= partitions, hpa["metadata"]
    # Dead letters outlive the events: -1 keeps them until an operator deals with them.
    for env in (compose_topics, k8s_topics):
        event, dead = int(env["EVENT_RETENTION_MS"]), int(env["DLQ_RETENTION_MS"])
        assert dead == -1 or dead > event > 0
    assert int(k8s_topics["REPLICATION_FACTOR"]) >= 3 > int(k8s_topics["MIN_INSYNC_REPLICAS"])
