from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

FAKE_DIR = Path(__file__).parent
COBUILD = [sys.executable, "-m", "cobuild_stack.cli"]


@pytest.fixture
def var_dir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="cobuild-cli-test-"))
    root.chmod(0o755)  # as root, PostgreSQL runs as nobody and must reach var/pg
    yield root / "var"
    shutil.rmtree(root, ignore_errors=True)


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "COBUILD_SERVICE_MODULE_PATTERN": "fake_service",
        "PYTHONPATH": str(FAKE_DIR),
        "COBUILD_AGREEMENTS_PORT": "0",
        "COBUILD_PG_PORT": "0",
        "COBUILD_BROKER_PORT": "0",
        "COLUMNS": "200",
    }


def cobuild(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COBUILD, *args], env=_env(), capture_output=True, text=True, timeout=timeout
    )


def test_token_is_an_eddsa_jwt_verifiable_with_the_published_key(var_dir: Path) -> None:
    result = cobuild(
        "token",
        "--role",
        "unit_admin",
        "--party",
        "unit-7",
        "--ttl",
        "600",
        "--var-dir",
        str(var_dir),
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()

    header = jwt.get_unverified_header(token)
    public = json.loads((var_dir / "keys" / "public-keys.json").read_text())[header["kid"]]
    claims = jwt.decode(
        token, public, algorithms=["EdDSA"], audience="cobuild", issuer="cobuild-dev"
    )
    assert header["alg"] == "EdDSA"
    assert claims["role"] == "unit_admin" and claims["party_id"] == "unit-7"
    assert claims["sub"] == "unit_admin@unit-7"
    assert 590 <= claims["exp"] - time.time() <= 600


def test_errors_are_one_red_line_not_a_traceback(var_dir: Path) -> None:
    bad_role = cobuild("token", "--role", "mayor", "--party", "x", "--var-dir", str(var_dir))
    no_stack = cobuild("stack", "status", "--var-dir", str(var_dir))
    for result, text in ((bad_role, "unknown role 'mayor'"), (no_stack, "no stack is running")):
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and text in lines[0]


def test_up_status_down(var_dir: Path) -> None:
    up = subprocess.Popen(
        [*COBUILD, "stack", "up", "--var-dir", str(var_dir), "-s", "agreements"],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (var_dir / "stack.json").exists():
            assert up.poll() is None, up.stdout.read() if up.stdout else ""
            assert time.monotonic() < deadline, "stack.json never appeared"
            time.sleep(0.1)

        status = cobuild("stack", "status", "--var-dir", str(var_dir))
        assert status.returncode == 0, status.stdout + status.stderr
        assert "agreements" in status.stdout and "ready" in status.stdout

        down = cobuild("stack", "down", "--var-dir", str(var_dir))
        assert down.returncode == 0, down.stderr
        assert up.wait(timeout=30) == 0
        assert not (var_dir / "stack.json").exists()
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
    output = up.stdout.read() if up.stdout else ""
    assert "agreements" in output and "http://127.0.0.1:" in output


def test_run_no_serve_exits_zero_once_everything_answers(var_dir: Path) -> None:
    result = cobuild(
        "run",
        "--no-serve",
        "--driver",
        "check",
        "--seed",
        "7",
        "--scale",
        "small",
        "--var-dir",
        str(var_dir),
        "-s",
        "agreements",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "services answering: agreements" in result.stdout
    assert not (var_dir / "stack.json").exists()
