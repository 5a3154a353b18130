from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from cobuild_stack.errors import StackError
from cobuild_stack.postgres import EmbeddedPostgres
from cobuild_stack.testing import PgServer


def _with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture
def pg_dir() -> Iterator[Path]:
    # Searchable by others: as root the server runs as nobody (pytest's tmp dirs are 0700).
    root = Path(tempfile.mkdtemp(prefix="cobuild-pg-test-"))
    root.chmod(0o755)
    yield root / "pg"
    shutil.rmtree(root, ignore_errors=True)


async def test_service_role_owns_its_database_and_cannot_open_another(pg_server: PgServer) -> None:
    mine = await pg_server.create_database("agreements")
    theirs = await pg_server.create_database("commitments")
    my_name = urlsplit(mine).path.lstrip("/")
    their_name = urlsplit(theirs).path.lstrip("/")

    conn = await asyncpg.connect(mine)
    try:
        assert await conn.fetchval("SELECT current_user") == my_name
        await conn.execute("CREATE TABLE t (id int PRIMARY KEY)")  # owner may build its schema
    finally:
        await conn.close()

    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
        await asyncpg.connect(_with_database(mine, their_name))
    wrong_password = mine.replace(urlsplit(mine).password or "", "not-the-password")
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(wrong_password)


async def test_second_start_reuses_the_data_dir_and_survives_a_kill(pg_dir: Path) -> None:
    pg = EmbeddedPostgres(pg_dir, 0, test_mode=True)
    await pg.start()
    try:
        dsn = await pg.ensure_database("points")
        assert await pg.ensure_database("points") == dsn  # idempotent
        conn = await asyncpg.connect(dsn)
        await conn.execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')")
        await conn.close()
        await pg.stop()
        assert pg.pid is None
        secret = (pg_dir / "cobuild-secret").read_bytes()

        await pg.start()  # same dir: no initdb, same roles and passwords
        assert (pg_dir / "cobuild-secret").read_bytes() == secret
        conn = await asyncpg.connect(await pg.ensure_database("points"))
        assert await conn.fetchval("SELECT v FROM kept") == "still here"
        await conn.close()

        await pg.kill()  # leaves a stale postmaster.pid behind
        assert (pg_dir / "postmaster.pid").exists()
        await pg.start()
        conn = await asyncpg.connect(await pg.ensure_database("points"))
        assert await conn.fetchval("SELECT count(*) FROM kept") == 1
        await conn.close()
    finally:
        await pg.stop()


async def test_a_running_data_dir_is_not_started_twice(pg_dir: Path) -> None:
    first = EmbeddedPostgres(pg_dir, 0, test_mode=True)
    await first.start()
    try:
        with pytest.raises(StackError, match="already runs"):
            await EmbeddedPostgres(pg_dir, 0, test_mode=True).start()
    finally:
        await first.stop()
