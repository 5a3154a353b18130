"""Ordered SQL migrations per source, applied at start under an advisory lock, recorded, idempotent."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import asyncpg

from cobuild_kit.logging import get_logger

log = get_logger(__name__)
_LOCK_KEY = 0x0C0B_0001  # one migrator at a time per database

_CREATE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    source     text NOT NULL,
    version    text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, version)
)"""


@dataclass(frozen=True)
class Migration:
    source: str
    version: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_dir(source: str, directory: Path) -> list[Migration]:
    files = sorted(p for p in directory.iterdir() if p.suffix == ".sql")
    return [Migration(source, p.stem, p.read_text(encoding="utf-8")) for p in files]


def package_migrations(package: str, source: str | None = None) -> list[Migration]:
    """The `migrations/*.sql` shipped inside a package, in file-name order."""
    directory = Path(str(resources.files(package) / "migrations"))
    return load_dir(source or package, directory)


async def migrate(conn: asyncpg.Connection, migrations: list[Migration]) -> list[str]:
    """Apply what is missing; returns the versions applied. A changed applied file is an error."""
    applied: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(_CREATE)
        done = {
            (r["source"], r["version"]): r["checksum"]
            for r in await conn.fetch("SELECT source, version, checksum FROM schema_migrations")
        }
        for m in migrations:
            known = done.get((m.source, m.version))
            if known is not None:
                if known != m.checksum:
                    raise RuntimeError(
                        f"migration {m.source}/{m.version} changed after it was applied"
                    )
                continue
            async with conn.transaction():
                await conn.execute(m.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (source, version, checksum) VALUES ($1, $2, $3)",
                    m.source,
                    m.version,
                    m.checksum,
                )
            applied.append(f"{m.source}/{m.version}")
            log.info("migration.applied", source=m.source, version=m.version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    return applied
