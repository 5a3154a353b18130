"""A launcher killed with SIGKILL runs no shutdown code; its broker and services must still go."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import textwrap
from pathlib import Path

import pytest
from cobuild_stack.procs import pid_alive, wait_pid_gone

pytestmark = pytest.mark.asyncio(loop_scope="session")

# A launcher in miniature: the broker and one service process, spawned as the Stack spawns them.
LAUNCHER = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path
    from cobuild_stack.broker import TansuBroker
    from cobuild_stack.service_process import ServiceProcess

    async def main() -> None:
        var = Path(sys.argv[1])
        broker = TansuBroker(log_path=var / "broker.log")
        await broker.start()
        service = ServiceProcess("sleeper", ["sleep", "600"], {}, 0, var / "sleeper.log")
        await service.spawn()
        print(json.dumps({"broker": broker.pid, "service": service.pid}), flush=True)
        await asyncio.sleep(600)

    asyncio.run(main())
    """
)


async def test_children_of_a_killed_launcher_stop_with_it(tmp_path: Path) -> None:
    launcher = await asyncio.create_subprocess_exec(
        sys.executable, "-c", LAUNCHER, str(tmp_path), stdout=asyncio.subprocess.PIPE
    )
    assert launcher.stdout is not None
    line = await asyncio.wait_for(launcher.stdout.readline(), 30)
    children: dict[str, int] = json.loads(line)
    try:
        assert all(pid_alive(pid) for pid in children.values())
        launcher.send_signal(signal.SIGKILL)
        await launcher.wait()
        await asyncio.gather(*(wait_pid_gone(pid, 10.0) for pid in children.values()))
        alive = {name: pid for name, pid in children.items() if pid_alive(pid)}
        assert alive == {}, f"outlived the launcher: {alive}"
    finally:
        for pid in children.values():
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
