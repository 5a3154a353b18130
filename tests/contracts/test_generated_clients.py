"""A client generated from each service's OpenAPI document type-checks the calls a newcomer
makes first: a list, a ledger query, a command (the structure issue's "The API as a product").

The generator (openapi-python-client) lives in a virtual environment of its own,
.tools/openapi-client, which `make test` installs from tools/openapi-client.txt, so its pins
never move the project's. mypy --strict checks each use below against the generated code.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cobuild_kit.service import create_app

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / ".tools" / "openapi-client"

# What a client of each service writes first; each must type-check against its client.
USES = {
    "agreements": """
from uuid import UUID
from agreements_client import AuthenticatedClient, Client
from agreements_client.api.needs import needs_of_community
from agreements_client.api.reference import reference_reference
from agreements_client.models import PageNeedOut, ReferenceData

def first_calls(public: Client, client: AuthenticatedClient, community_id: UUID) -> None:
    reference = reference_reference.sync(client=public)
    if isinstance(reference, ReferenceData):
        print([c.code for c in reference.categories])
    needs = needs_of_community.sync(client=client, community_id=community_id, limit=50)
    if isinstance(needs, PageNeedOut):
        print(needs.total, needs.next_offset, [n.title for n in needs.items])
""",
    "commitments": """
from uuid import UUID
from commitments_client import AuthenticatedClient
from commitments_client.api.commitments import commitments_claim
from commitments_client.api.queries import queries_list_commitments
from commitments_client.models import CommitmentOut, ErrorBody

def first_calls(client: AuthenticatedClient, commitment_id: UUID) -> None:
    page = queries_list_commitments.sync(client=client, limit=20, offset=0)
    claimed = commitments_claim.sync(client=client, commitment_id=commitment_id)
    if isinstance(claimed, CommitmentOut):
        print(claimed.status)
    elif isinstance(claimed, ErrorBody):
        print(claimed.error, claimed.message, claimed.field)
    print(page)
""",
    "points": """
from uuid import UUID
from points_client import AuthenticatedClient
from points_client.api.members import members_of_community

def first_calls(client: AuthenticatedClient, community_id: UUID) -> None:
    page = members_of_community.sync(client=client, community_id=community_id, limit=20)
    print(page)
""",
    "evaluation": """
from uuid import UUID
from evaluation_client import AuthenticatedClient
from evaluation_client.api.ledger import ledger_ledger
from evaluation_client.models import ScopeKind

def first_calls(client: AuthenticatedClient, district_id: UUID) -> None:
    figures = ledger_ledger.sync(client=client, scope=ScopeKind.DISTRICT, id=district_id)
    print(figures)
""",
}


@pytest.fixture(scope="module")
def generator() -> Path:
    program = TOOL / "bin" / "openapi-python-client"
    assert program.exists(), "no client generator: make .tools/openapi-client/.installed"
    return program


@pytest.mark.parametrize("service", sorted(USES))
def test_a_generated_client_type_checks_the_first_calls(
    service: str, generator: Path, tmp_path: Path
) -> None:
    module = importlib.import_module(f"cobuild_{service}.app")
    document = tmp_path / f"{service}.json"
    document.write_text(json.dumps(create_app(module.definition()).openapi()))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"post_hooks": [], "package_name_override": f"{service}_client"}))
    generated = subprocess.run(
        [str(generator), "generate", "--path", str(document), "--meta", "none",
         "--config", str(config), "--output-path", str(tmp_path / f"{service}_client")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout, generated.stdout
    use = tmp_path / "first_calls.py"
    use.write_text(USES[service])
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent",
         "--python-executable", str(TOOL / "bin" / "python"), str(use)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={"MYPYPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
