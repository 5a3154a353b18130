"""Raising a whistle: who may raise it for which place, and its routing, in one transaction.

The place and the hierarchy above it come from the parties directory (the agreements
service's party events, `cobuild_kit.parties`); the receiver and the limits from the
district's current routing table (or the built-in one) and the working calendar, both read in
the same transaction, so the whistle keeps what they said at this moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid4

import asyncpg
from cobuild_contracts import Role
from cobuild_contracts.enums import PartyKind
from cobuild_contracts.events.escalations import Level, Urgency
from cobuild_kit import working_calendar
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Forbidden, Invalid

from cobuild_escalations.domain import events
from cobuild_escalations.domain.routing import builtin_table, route
from cobuild_escalations.domain.whistle import Place, Whistle
from cobuild_escalations.settings import EscalationsRuntime
from cobuild_escalations.store import history, places, whistles
from cobuild_escalations.store import routing as routing_store

_PLACE_FIELD = "body.place_id"
# Where a whistle may stand, by the raiser's role.
_PLACE_KINDS = {
    Role.COMMUNITY_ADMIN: {PartyKind.COMMUNITY, PartyKind.GRID},
    Role.STREET_ADMIN: {PartyKind.STREET, PartyKind.COMMUNITY, PartyKind.GRID},
}


@dataclass(frozen=True)
class Raise:
    title: str
    description: str
    category: str
    urgency: Urgency
    place_id: UUID


async def locate(conn: asyncpg.Connection, actor: Actor, place_id: UUID) -> Place:
    """The place with its community, street and district, for an actor who may whistle for
    it: a community worker for her community or a grid/compound in it, a street admin for
    the street or a place in it. Anyone else is a 403; an unknown place a 422."""
    kinds = _PLACE_KINDS.get(actor.role)
    if kinds is None:
        raise Forbidden(f"role {actor.role.value} may not raise a whistle")
    up = await places.chain(conn, place_id)
    if not up:
        raise Invalid(f"no place {place_id} (not yet known here?)", field=_PLACE_FIELD)
    kind = PartyKind(up[0].kind)
    if kind not in (PartyKind.COMMUNITY, PartyKind.GRID, PartyKind.STREET):
        raise Invalid(
            f"a whistle stands at a grid, a community or a street, not a {kind.value}",
            field=_PLACE_FIELD,
        )
    by_kind = {PartyKind(p.kind): p.party_id for p in up}
    street, district = by_kind.get(PartyKind.STREET), by_kind.get(PartyKind.DISTRICT)
    if street is None or district is None:
        raise Invalid(
            f"the hierarchy above {place_id} is not known (yet): no street or district",
            field=_PLACE_FIELD,
        )
    home = by_kind.get(PartyKind.COMMUNITY) if actor.role == Role.COMMUNITY_ADMIN else street
    own = actor.party_id == home
    if not own or kind not in kinds:
        raise Forbidden(
            f"{actor.role.value} of {actor.party_id} may not whistle for {kind.value} {place_id}"
        )
    return Place(place_id, kind, by_kind.get(PartyKind.COMMUNITY), street, district)


async def raise_whistle(rt: EscalationsRuntime, actor: Actor, cmd: Raise) -> Whistle:
    now = rt.clock.now()
    async with rt.unit_of_work() as uow:
        place = await locate(uow.conn, actor, cmd.place_id)
        level = Level.COMMUNITY if actor.role == Role.COMMUNITY_ADMIN else Level.STREET
        table = await routing_store.current(uow.conn, place.district_id) or builtin_table(
            place.district_id
        )
        calendar = await working_calendar.calendar(uow.conn)
        r = route(
            table,
            category=cmd.category,
            urgency=cmd.urgency,
            raiser_level=level,
            street_id=place.street_id,
            district_id=place.district_id,
            raised_at=now,
            calendar=calendar,
            hours=rt.settings.working_hours,
        )
        w = Whistle(
            whistle_id=uuid4(),
            title=cmd.title,
            description=cmd.description,
            category=cmd.category,
            urgency=cmd.urgency,
            place=place,
            raiser_party_id=actor.party_id,
            raiser_level=level,
            raised_by=actor.subject,
            raised_at=now,
            receiver_party_id=r.receiver_party_id,
            receiver_kind=r.receiver_kind,
            routing_district_id=table.district_id,
            routing_version=table.version,
            respond_by=r.respond_by.at,
            respond_by_provisional=r.respond_by.provisional,
            resolve_by=r.resolve_by.at,
            resolve_by_provisional=r.resolve_by.provisional,
            level=level,
        )
        await whistles.insert(uow.conn, w)
        await history.record(uow.conn, uow.emit, events.raised(w))
        await history.record(uow.conn, uow.emit, events.routed(w))
    return w
