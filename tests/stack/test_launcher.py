from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio
from cobuild_stack.discovery import read_stack_info, stack_file
from cobuild_stack.errors import StackError
from cobuild_stack.launcher import Stack, StackConfig, StackEvent
from cobuild_stack.procs import pid_alive
from cobuild_stack.topics import partition_counts

FAKE_DIR = Path(__file__).parent
SERVICES = ("agreements", "points")


@pytest.fixture(scope="module")
def var_dir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="cobuild-launcher-test-"))
    root.chmod(0o755)  # as root, PostgreSQL runs as nobody and must reach var/pg
    yield root / "var"
    shutil.rmtree(root, ignore_errors=True)


def _config(var_dir: Path, **overrides: object) -> StackConfig:
    values: dict[str, object] = {
        "var_dir": var_dir,
        "services": SERVICES,
        "module_pattern": "fake_service",
        "service_ports": {name: 0 for name in SERVICES},
        "partitions": 2,
        "test_mode": True,
        "max_restarts": 1,
        "stop_timeout": 5.0,
        "extra_env": {"PYTHONPATH": str(FAKE_DIR)},
        **overrides,
    }
    return StackConfig.from_env({}, **values)


class Events(list[StackEvent]):
    async def wait_for(self, component: str, text: str, timeout: float = 10.0) -> StackEvent:
        async with asyncio.timeout(timeout):
            while True:
                for event in self:
                    if event.component == component and text in event.message:
                        return event
                await asyncio.sleep(0.05)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def running(var_dir: Path) -> AsyncIterator[tuple[Stack, Events]]:
    events = Events()
    stack = Stack(_config(var_dir), on_event=events.append)
    await stack.start()
    try:
        yield stack, events
    finally:
        await stack.stop()


async def test_stack_json_names_every_address(running: tuple[Stack, Events]) -> None:
    stack, _ = running
    info = read_stack_info(stack.var_dir)
    # It holds the database superuser's password: the owner alone may read it.
    assert (stack.var_dir / "stack.json").stat().st_mode & 0o077 == 0

    assert set(info) >= {"broker", "postgres", "databases", "services", "keys", "topics", "clock"}
    assert set(info["services"]) == set(SERVICES) == set(info["databases"])
    assert info["clock"] == "system"
    # Every service's topic and its dead letters, whichever services this stack runs.
    assert sorted(info["topics"]) == sorted(
        t
        for base in ("agreements", "commitments", "points", "evaluation", "access", "escalations")
        for t in (f"{base}.events.v1", f"{base}.events.v1.dlq")
    )
    assert set((await partition_counts(info["broker"]["bootstrap"], info["topics"])).values()) == {
        2
    }
    keys = json.loads(await asyncio.to_thread(Path(info["keys"]["public_keys"]).read_text))
    assert list(keys) == [info["keys"]["kid"]]
    assert keys[info["keys"]["kid"]].startswith("-----BEGIN PUBLIC KEY-----")

    async with httpx.AsyncClient() as client:
        for name, service in info["services"].items():
            assert service["url"].startswith("http://127.0.0.1:")
            assert pid_alive(service["pid"] or 0)
            assert (await client.get(f"{service['url']}/readyz")).status_code == 200
            env = (await client.get(f"{service['url']}/env")).json()
            prefix = f"COBUILD_{name.upper()}_"
            assert env[prefix + "DATABASE_URL"] == info["databases"][name]
            assert env[prefix + "KAFKA_BOOTSTRAP"] == info["broker"]["bootstrap"]
            assert env[prefix + "JWT_PUBLIC_KEYS_FILE"] == info["keys"]["public_keys"]
            assert env[prefix + "DATA_DIR"] == str(stack.var_dir / "data" / name)
            assert env["COBUILD_CLOCK"] == "system"
            conn = await asyncpg.connect(info["databases"][name])
            assert await conn.fetchval("SELECT current_database()") == name
            await conn.close()


async def test_a_crashed_service_is_reported_restarted_then_gives_up(
    running: tuple[Stack, Events],
) -> None:
    stack, events = running
    stop = asyncio.Event()
    supervisor = asyncio.create_task(stack.run_until(stop))
    url = stack.services["agreements"].url
    first_pid = stack.services["agreements"].pid
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.HTTPError):
            await client.get(f"{url}/crash")
        exited = await events.wait_for("agreements", "exited with code 3")
        assert exited.exit_code == 3
        assert any("fake crash: agreements goes down" in line for line in exited.log_tail)
        await events.wait_for("agreements", "ready again")
        new_pid = stack.services["agreements"].pid
        assert new_pid != first_pid
        assert read_stack_info(stack.var_dir)["services"]["agreements"]["pid"] == new_pid

        with pytest.raises(httpx.HTTPError):  # max_restarts=1: the second crash is fatal
            await client.get(f"{url}/crash")
    with pytest.raises(StackError, match="agreements exited with code 3 after 1 restart"):
        await asyncio.wait_for(supervisor, 10)


async def test_stop_is_clean_and_a_second_launch_reuses_var_pg(
    running: tuple[Stack, Events], var_dir: Path
) -> None:
    stack, _ = running
    pids = [s.pid for s in stack.services.values()] + [stack.broker.pid, stack.postgres.pid]
    logs = {name: s.log_path for name, s in stack.services.items()}
    await stack.stop()

    assert not any(pid_alive(pid or 0) for pid in pids)
    assert not stack_file(stack.var_dir).exists()
    assert "stopping on SIGTERM" in logs["points"].read_text()  # SIGTERM, not SIGKILL

    # Second launch on the same var dir: a service that never gets ready is named.
    pg_version = (var_dir / "pg" / "PG_VERSION").stat().st_mtime_ns
    events = Events()
    again = Stack(
        _config(
            var_dir,
            ready_timeout=1.5,
            extra_env={"PYTHONPATH": str(FAKE_DIR), "FAKE_POINTS": "never_ready"},
        ),
        on_event=events.append,
    )
    with pytest.raises(StackError, match=r"points not ready after 1.5s .*HTTP 503"):
        await again.start()
    assert (var_dir / "pg" / "PG_VERSION").stat().st_mtime_ns == pg_version
    assert again.postgres.pid is None and again.broker.pid is None
    assert all(
        s.proc is not None and s.proc.returncode is not None for s in again.services.values()
    )


def test_the_run_stack_sizes_postgres_and_a_test_stack_keeps_its_defaults() -> None:
    run = StackConfig.from_env(
        {"COBUILD_PG_SHARED_BUFFERS": "256MB", "COBUILD_PG_MAX_WAL_SIZE": "2GB"},
        pg_settings={"track_commit_timestamp": "on"},
    )
    assert Stack(run).postgres.settings == {
        "shared_buffers": "256MB",
        "max_wal_size": "2GB",
        "checkpoint_timeout": "15min",
        "track_commit_timestamp": "on",
    }
    defaults = StackConfig.from_env({})
    assert defaults.pg_max_wal_size == "8GB"
    memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") >> 20
    quarter = f"{max(memory_mb // 4, 1024)}MB"
    assert defaults.pg_shared_buffers == StackConfig().pg_shared_buffers == quarter
    assert Stack(StackConfig.from_env({}, test_mode=True)).postgres.settings == {}
