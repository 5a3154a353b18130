"""The AsyncAPI documents kept in docs/asyncapi/ are what `faststream docs gen` makes now."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = [
    "agreements",
    "commitments",
    "points",
    "evaluation",
    "access",
    "escalations",
    "notifications",
]

# Services that publish no events of their own (notifications only reads every topic).
CONSUMERS_ONLY = {"notifications"}


@pytest.mark.parametrize("service", SERVICES)
def test_asyncapi_document_is_current(service: str, tmp_path: Path) -> None:
    out = tmp_path / f"{service}.json"
    faststream = Path(sys.executable).with_name("faststream")
    subprocess.run(
        [
            str(faststream),
            "docs",
            "gen",
            f"cobuild_{service}.app:asyncapi_app",
            "--factory",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
    )
    kept = json.loads((ROOT / "docs" / "asyncapi" / f"{service}.json").read_text())
    assert json.loads(out.read_text()) == kept, f"run `make asyncapi` to refresh {service}.json"
    if service not in CONSUMERS_ONLY:
        assert f"{service}.events.v1:publish" in kept["channels"]
