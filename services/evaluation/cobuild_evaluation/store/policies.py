"""The scoring policies shipped in the package (policies/*.yaml), read and parsed.

Reading files and YAML is I/O, so it lives here; `domain.policy.parse` is the pure rule."""

from __future__ import annotations

from importlib import resources

import yaml

from cobuild_evaluation.domain.policy import Policy, PolicyError, parse

__all__ = ["Policy", "PolicyError", "available", "load"]


def available() -> list[str]:
    folder = resources.files("cobuild_evaluation") / "policies"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def load(version: str) -> Policy:
    if version not in available():
        raise PolicyError(f"no policy {version!r}; available: {', '.join(available())}")
    text = (resources.files("cobuild_evaluation") / "policies" / f"{version}.yaml").read_text(
        "utf-8"
    )
    policy = parse(yaml.safe_load(text))
    if policy.version != version:
        raise PolicyError(f"policy file {version} names version {policy.version}")
    return policy
