"""The audit: recording (in the transaction of what it records, or apart for a refusal whose
transaction rolled back), reading and exporting (ARCHITECTURE.md, "Access")."""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from uuid import UUID

import asyncpg
from cobuild_contracts import Role
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Forbidden, NotFound
from cobuild_kit.logging import get_logger

from cobuild_access.domain.audit import AuditEntry, AuditKind, Outcome
from cobuild_access.settings import AccessRuntime
from cobuild_access.store import audit as store
from cobuild_access.store.audit import AuditFilter
from cobuild_access.store.parties import below
from cobuild_access.usecases.actors import require_live

log = get_logger(__name__)

READERS = frozenset({Role.DISTRICT_ADMIN, Role.OPERATOR})


def by(actor: Actor, kind: AuditKind, rt: AccessRuntime, **fields: object) -> AuditEntry:
    """An entry of what `actor` did now."""
    return AuditEntry(
        kind=kind,
        at=rt.clock.now(),
        actor=actor.subject,
        actor_role=actor.role.value,
        actor_party=actor.party_id,
        **fields,  # type: ignore[arg-type]
    )


async def record(conn: asyncpg.Connection, entry: AuditEntry) -> None:
    await store.append(conn, entry)


async def record_apart(rt: AccessRuntime, entry: AuditEntry) -> None:
    """In a transaction of its own: for what is refused, whose own transaction rolled back.
    An audit that cannot be written is logged, and the refusal still answers."""
    try:
        async with rt.pool.acquire() as conn:
            await store.append(conn, entry)
    except (asyncpg.PostgresError, OSError) as exc:
        log.error("audit.unwritten", kind=entry.kind.value, error=repr(exc))


@contextlib.asynccontextmanager
async def refusals_recorded(
    rt: AccessRuntime, actor: Actor, action: str, **fields: object
) -> AsyncIterator[None]:
    """Every refusal (403) of what runs inside is recorded, with its reason, then raised."""
    try:
        yield
    except Forbidden as exc:
        entry = by(actor, AuditKind.REFUSAL, rt, **fields)
        await record_apart(
            rt, replace(entry, outcome=Outcome.REFUSED, detail=f"{action}: {exc.message}")
        )
        raise


async def readable_parties(conn: asyncpg.Connection, actor: Actor) -> list[UUID] | None:
    """The parties whose records `actor` may read: all (None) for the operator, the
    district's subtree for its admin."""
    if actor.role is Role.OPERATOR:
        return None
    if actor.role is Role.DISTRICT_ADMIN:
        return await below(conn, actor.party_id)
    raise Forbidden(f"{actor.role.value} may not read the audit (a district admin does)")


async def scoped(rt: AccessRuntime, actor: Actor, wanted: AuditFilter) -> AuditFilter:
    async with refusals_recorded(rt, actor, "read the audit"), rt.pool.acquire() as conn:
        await require_live(conn, actor)
        parties = await readable_parties(conn, actor)
    if parties is not None and wanted.party_id is not None and wanted.party_id not in parties:
        raise NotFound(f"party {wanted.party_id} is not in your district")
    return replace(wanted, parties=parties)


async def page(
    rt: AccessRuntime, actor: Actor, wanted: AuditFilter, *, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    f = await scoped(rt, actor, wanted)
    async with rt.pool.acquire() as conn:
        return await store.page(conn, f, limit=limit, offset=offset)


CSV_COLUMNS = (
    "audit_id", "at", "kind", "outcome", "actor", "actor_role", "actor_party", "subject",
    "role", "party_id", "grant_id", "invitation_id", "detail",
)  # fmt: skip


async def export_csv(rt: AccessRuntime, actor: Actor, wanted: AuditFilter) -> AsyncIterator[str]:
    """The matching records, oldest first, as CSV text in chunks (a header row first).
    The filter is checked before the first chunk, so a refusal is still a 403."""
    f = await scoped(rt, actor, wanted)

    async def chunks() -> AsyncIterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        yield out.getvalue()
        async with rt.pool.acquire() as conn, conn.transaction(readonly=True):
            async for rows in store.batches(conn, f):
                out = io.StringIO()
                writer = csv.writer(out)
                for row in rows:
                    writer.writerow(["" if row[c] is None else _cell(row[c]) for c in CSV_COLUMNS])
                yield out.getvalue()

    return chunks()


def _cell(value: object) -> str:
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    # A cell a spreadsheet would run as a formula is quoted as text (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


async def on_behalf(
    rt: AccessRuntime,
    actor: Actor,
    *,
    action: str,
    on_behalf_of: str | None,
    party_id: UUID | None,
    detail: str,
) -> None:
    """An admin records that they acted for someone (代录: entering a report or a sign-up for
    a member at the counter). Admins only; the record names the admin and whom they acted for."""
    admins = {Role.DISTRICT_ADMIN, Role.STREET_ADMIN, Role.COMMUNITY_ADMIN, Role.UNIT_ADMIN}
    async with refusals_recorded(rt, actor, "record an act on someone's behalf"):
        if actor.role not in admins:
            raise Forbidden(f"{actor.role.value} does not act on others' behalf (an admin does)")
        async with rt.unit_of_work() as uow:
            await require_live(uow.conn, actor)
            await record(
                uow.conn,
                by(
                    actor,
                    AuditKind.ON_BEHALF,
                    rt,
                    subject=on_behalf_of,
                    party_id=actor.party_id,
                    detail=detail,
                    extra={"action": action, **({"for_party": str(party_id)} if party_id else {})},
                ),
            )
