"""The districts' routing tables: read by the district's admins and the streets in it,
published (a new version) by its district admin or an operator. A department a rule names
must be a government office unit; a street, one of the district's."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
from cobuild_contracts import Role
from cobuild_contracts.enums import PartyKind
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Forbidden, Invalid, NotFound

from cobuild_escalations.domain.routing import RoutingTable, builtin_table
from cobuild_escalations.settings import EscalationsRuntime
from cobuild_escalations.store import places
from cobuild_escalations.store import routing as store
from cobuild_escalations.usecases.access import domain_rules
from cobuild_escalations.usecases.commands import department

_READERS = frozenset({Role.DISTRICT_ADMIN, Role.STREET_ADMIN, Role.OPERATOR})


async def _district(conn: asyncpg.Connection, district_id: UUID) -> None:
    p = await places.party(conn, district_id)
    if p is None or p.kind != PartyKind.DISTRICT.value:
        raise NotFound(f"no district {district_id}", field="path.district_id")


async def _may_read(conn: asyncpg.Connection, actor: Actor, district_id: UUID) -> None:
    """The district's admin, an admin of a street in it, or an operator."""
    if actor.role not in _READERS:
        raise Forbidden(f"role {actor.role.value} may not read routing tables")
    if actor.role == Role.OPERATOR or actor.party_id == district_id:
        return
    p = await places.party(conn, actor.party_id)
    if actor.role != Role.STREET_ADMIN or p is None or p.parent_id != district_id:
        raise NotFound(f"no district {district_id}", field="path.district_id")


async def current(rt: EscalationsRuntime, actor: Actor, district_id: UUID) -> RoutingTable:
    async with rt.pool.acquire() as conn:
        await _district(conn, district_id)
        await _may_read(conn, actor, district_id)
        return await store.current(conn, district_id) or builtin_table(district_id)


async def version(rt: EscalationsRuntime, actor: Actor, district_id: UUID, n: int) -> RoutingTable:
    async with rt.pool.acquire() as conn:
        await _district(conn, district_id)
        await _may_read(conn, actor, district_id)
        if n == 0:
            return builtin_table(district_id)
        found = await store.version(conn, district_id, n)
    if found is None:
        raise NotFound(f"no version {n} of {district_id}'s routing", field="path.version")
    return found


async def history(rt: EscalationsRuntime, actor: Actor, district_id: UUID) -> list[asyncpg.Record]:
    async with rt.pool.acquire() as conn:
        await _district(conn, district_id)
        await _may_read(conn, actor, district_id)
        return await store.versions(conn, district_id)


async def publish(
    rt: EscalationsRuntime, actor: Actor, table: RoutingTable
) -> tuple[RoutingTable, datetime]:
    """A new version of the district's table; whistles raised from now on are routed by it,
    the ones already raised keep theirs."""
    if actor.role not in (Role.DISTRICT_ADMIN, Role.OPERATOR):
        raise Forbidden(f"role {actor.role.value} may not edit routing tables")
    with domain_rules():
        table.check(rt.settings.working_hours)
    async with rt.unit_of_work() as uow:
        await _district(uow.conn, table.district_id)
        if actor.role == Role.DISTRICT_ADMIN and actor.party_id != table.district_id:
            raise Forbidden(
                f"district_admin of {actor.party_id} may not edit {table.district_id}'s routing"
            )
        for i, rule in enumerate(table.rules):
            await department(uow.conn, rule.department_id, f"body.rules.{i}.department_id")
            if rule.street_id is not None:
                s = await places.party(uow.conn, rule.street_id)
                if (
                    s is None
                    or s.kind != PartyKind.STREET.value
                    or (s.parent_id != table.district_id)
                ):
                    raise Invalid(
                        f"{rule.street_id} is not a street of this district",
                        field=f"body.rules.{i}.street_id",
                    )
        return await store.publish(uow.conn, table, by=actor.subject, at=rt.clock.now())
