"""The launcher runs the workbench beside the services and publishes it in var/stack.json
under "console" (not among "services", which the operator commands speak to)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import httpx
import pytest
from cobuild_stack.console import console_port_from_env
from cobuild_stack.discovery import read_stack_info
from cobuild_stack.launcher import Stack, StackConfig

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
SERVICES = ("agreements", "commitments", "points", "evaluation")


def test_the_port_setting() -> None:
    assert console_port_from_env({}) == 8100
    assert console_port_from_env({"COBUILD_CONSOLE_PORT": "0"}) == 0
    assert console_port_from_env({"COBUILD_CONSOLE": "0", "COBUILD_CONSOLE_PORT": "9"}) is None


async def test_the_launcher_runs_the_workbench() -> None:
    if "console_port" not in StackConfig.__dataclass_fields__:
        pytest.skip("the launcher's console hook (StackConfig.console_port) has not landed yet")
    root = Path(tempfile.mkdtemp(prefix="cobuild-console-launch-"))
    os.chmod(root, 0o755)  # as root, PostgreSQL runs as nobody and must reach var/pg
    config = StackConfig.from_env(
        {"COBUILD_PROVIDER": "0"},
        var_dir=root / "var",
        services=SERVICES,
        service_ports={n: 0 for n in SERVICES},
        partitions=1,
        test_mode=True,
        console_port=0,
    )
    stack = Stack(config)
    try:
        info = await stack.start()
        console = read_stack_info(stack.var_dir)["console"]
        assert console == info["console"] and "console" not in info["services"]
        async with httpx.AsyncClient() as client:
            page = await client.get(console["url"] + "/")
            assert page.status_code == 200 and "共建工作台" in page.text
            htmx = await client.get(console["url"] + "/static/vendor/htmx.min.js")
            assert htmx.status_code == 200
        assert stack.console is not None and stack.console.pid == console["pid"]
        # The evaluation service's own board page sends browsers to the console's board.
        board = stack.services["evaluation"].env["COBUILD_EVALUATION_BOARD_URL"]
        assert board == console["url"]
    finally:
        await stack.stop()
        shutil.rmtree(root, ignore_errors=True)
    assert stack.console.proc is not None and stack.console.proc.returncode is not None
