"""One database and one login role per service, on any PostgreSQL we hold an admin URL for."""

from __future__ import annotations

import contextlib
import re
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

from .errors import StackError

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_identifier(name: str) -> str:
    """Role and database names go into DDL unquoted, so only plain lower-case names pass."""
    if not _IDENTIFIER.fullmatch(name):
        raise StackError(f"invalid database name {name!r}: use lower-case letters, digits and _")
    return name


def dsn_for(admin_url: str, user: str, password: str, database: str) -> str:
    """The admin URL's host, port and options, with another user and database."""
    parts = urlsplit(admin_url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(("postgresql", netloc, f"/{database}", parts.query, ""))


async def provision_database(admin_url: str, name: str, password: str) -> str:
    """Create (or refresh) login role `name` and database `name` owned by it; return its DSN.

    Idempotent. CONNECT is revoked from PUBLIC, so another service's role cannot even open
    this database.
    """
    check_identifier(name)
    if not re.fullmatch(r"[A-Za-z0-9_-]+", password):
        raise StackError("database passwords must be URL- and SQL-safe (letters, digits, _ -)")
    conn = await asyncpg.connect(admin_url)
    try:
        role_exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", name)
        verb = "ALTER" if role_exists else "CREATE"
        try:
            await conn.execute(
                f"{verb} ROLE {name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                f"PASSWORD '{password}'"
            )
        except asyncpg.DuplicateObjectError:  # created concurrently: fine
            await conn.execute(f"ALTER ROLE {name} LOGIN PASSWORD '{password}'")
        db_exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not db_exists:
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):  # a concurrent creator
                await conn.execute(f"CREATE DATABASE {name} OWNER {name}")
        await conn.execute(f"REVOKE CONNECT, TEMPORARY ON DATABASE {name} FROM PUBLIC")
        await conn.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {name} TO {name}")
    finally:
        await conn.close()
    return dsn_for(admin_url, name, password, name)


async def drop_database(admin_url: str, name: str) -> None:
    """Drop database and role `name`, disconnecting any session still on it."""
    check_identifier(name)
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await conn.execute(f"DROP ROLE IF EXISTS {name}")
    finally:
        await conn.close()
