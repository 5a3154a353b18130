"""Fixtures of the deployment checks: the compose file, the manifests and the Dockerfile."""

from __future__ import annotations

import os
from typing import Any

import pytest
import yaml
from deploy_support import COMPOSE, DOCKERFILE, K8S, K8sBase, Stage, parse_dockerfile


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


@pytest.fixture(scope="session")
def k8s() -> K8sBase:
    base = K8sBase()
    for path in sorted(K8S.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                base.docs.append((path, doc))
    return base


@pytest.fixture(scope="session")
def dockerfile() -> dict[str, Stage]:
    return parse_dockerfile(DOCKERFILE.read_text())


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No COBUILD_* from the outer environment leaks into a settings check."""
    for key in list(os.environ):
        if key.startswith("COBUILD_"):
            monkeypatch.delenv(key)
    return monkeypatch
