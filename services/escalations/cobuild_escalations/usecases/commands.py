"""Commands on a whistle: respond (报到), hand on, resolve, confirm, reopen.

Each runs in one transaction: load under lock, flag any limit already missed (the scan's own
step, so a command never slips in before a due flag; usecases/escalation.py), authorize, apply
the domain's transition, save, and emit its event with the history entry. `now` is the caller's
business-clock reading.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from uuid import UUID

import asyncpg
from cobuild_contracts.enums import PartyKind, UnitType
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Invalid
from cobuild_kit.service import UnitOfWork

from cobuild_escalations.domain import events
from cobuild_escalations.domain.whistle import Whistle
from cobuild_escalations.settings import EscalationsRuntime
from cobuild_escalations.store import evidence as evidence_rows
from cobuild_escalations.store import history, places, whistles
from cobuild_escalations.usecases.access import (
    as_raiser,
    as_receiver,
    as_receiver_or_supervisor,
    domain_rules,
)
from cobuild_escalations.usecases.escalation import flag_missed
from cobuild_escalations.usecases.lookup import locked


@asynccontextmanager
async def changing(
    rt: EscalationsRuntime, whistle_id: UUID, now: datetime
) -> AsyncIterator[tuple[UnitOfWork, Whistle]]:
    """The whistle locked for a command, with every limit it missed by `now` flagged first."""
    async with locked(rt, whistle_id) as (uow, w):
        w, _ = await flag_missed(uow, w, now)
        yield uow, w


async def respond(
    rt: EscalationsRuntime, actor: Actor, whistle_id: UUID, who_comes: str, note: str,
    now: datetime,
) -> Whistle:  # fmt: skip
    """报到: the receiver accepts the matter and names who comes (a post or a team)."""
    async with changing(rt, whistle_id, now) as (uow, w):
        as_receiver(actor, w, "respond to this whistle")
        with domain_rules():
            after = w.respond(actor.subject, now, who_comes, note)
        await whistles.save(uow.conn, after)
        detail = {"who_comes": who_comes, "note": note}
        await history.record(uow.conn, uow.emit, events.responded(after), detail)
    return after


async def department(conn: asyncpg.Connection, party_id: UUID, field: str) -> None:
    """422 unless `party_id` is an active unit of type government office."""
    p = await places.party(conn, party_id)
    if p is None:
        raise Invalid(f"no party {party_id} (not yet known here?)", field=field)
    if p.kind != PartyKind.UNIT.value or p.unit_type != UnitType.GOVERNMENT_OFFICE.value:
        raise Invalid(f"{p.name} is not a department (a government office unit)", field=field)
    if not p.active:
        raise Invalid(f"{p.name} is no longer active", field=field)


async def hand_on(
    rt: EscalationsRuntime, actor: Actor, whistle_id: UUID, to_party_id: UUID, reason: str,
    now: datetime,
) -> Whistle:  # fmt: skip
    """To another department with a reason, before anyone responded: by the receiver, or by
    the street or district above the place. The limits do not restart; the history keeps
    every receiver and every reason."""
    async with changing(rt, whistle_id, now) as (uow, w):
        as_receiver_or_supervisor(actor, w, "hand this whistle on")
        await department(uow.conn, to_party_id, "body.to_party_id")
        with domain_rules():
            after = w.hand_on(to_party_id)
        await whistles.save(uow.conn, after)
        event = events.handed_on(w, after, actor.subject, now)
        await history.record(uow.conn, uow.emit, event, {"reason": reason})
    return after


async def resolve(
    rt: EscalationsRuntime, actor: Actor, whistle_id: UUID, note: str,
    evidence_ids: tuple[UUID, ...], now: datetime,
) -> Whistle:  # fmt: skip
    """The receiver reports it resolved, naming its evidence: files of this whistle that
    the receiver uploaded (422 naming the item otherwise)."""
    async with changing(rt, whistle_id, now) as (uow, w):
        as_receiver(actor, w, "report this whistle resolved")
        with domain_rules():
            after = w.resolve(actor.subject, now, note, evidence_ids)
        theirs = await evidence_rows.of_party(
            uow.conn, whistle_id, w.receiver_party_id, list(evidence_ids)
        )
        for i, e in enumerate(evidence_ids):
            if e not in theirs:
                raise Invalid(
                    f"no evidence {e} uploaded by the receiver to this whistle",
                    field=f"body.evidence_ids.{i}",
                )
        await whistles.save(uow.conn, after)
        await history.record(uow.conn, uow.emit, events.resolved(after), {"note": note})
    return after


async def confirm(rt: EscalationsRuntime, actor: Actor, whistle_id: UUID, now: datetime) -> Whistle:
    """The raiser accepts the resolution: closed."""
    async with changing(rt, whistle_id, now) as (uow, w):
        as_raiser(actor, w, "confirm this whistle's resolution")
        with domain_rules():
            after = w.close(actor.subject, now)
        await whistles.save(uow.conn, after)
        await history.record(uow.conn, uow.emit, events.closed(after))
    return after


async def reopen(
    rt: EscalationsRuntime, actor: Actor, whistle_id: UUID, reason: str, now: datetime
) -> Whistle:
    """The raiser does not accept it: back to the receiver, with the reason in the history.
    Past its limit to resolve, the matter is open late again: flagged here, at once."""
    async with changing(rt, whistle_id, now) as (uow, w):
        as_raiser(actor, w, "reopen this whistle")
        with domain_rules():
            after = w.reopen()
        await whistles.save(uow.conn, after)
        event = events.reopened(after, actor.subject, now)
        await history.record(uow.conn, uow.emit, event, {"reason": reason})
        after, _ = await flag_missed(uow, after, now)
    return after
