"""Residents' satisfaction: the raiser hands one-time codes to the residents who follow the
matter; each rates it once, 1 to 5, once the whistle is closed (the evaluation service's
resident codes are the model, and their bounds: a cap per whistle, hashes only, a redemption
by the issuing party itself kept flagged and out of the rate)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from cobuild_kit.auth import Actor
from cobuild_kit.errors import Conflict, Gone, Invalid, NotFound
from cobuild_kit.logging import get_logger

from cobuild_escalations.domain import events
from cobuild_escalations.domain.codes import (
    Party,
    code_hash,
    codes_refused,
    new_code,
    satisfied,
    self_redemption,
)
from cobuild_escalations.domain.whistle import State
from cobuild_escalations.settings import EscalationsRuntime
from cobuild_escalations.store import codes, history, whistles
from cobuild_escalations.usecases.access import as_raiser
from cobuild_escalations.usecases.lookup import locked

log = get_logger(__name__)


@dataclass(frozen=True)
class Codes:
    codes: list[str]
    expires_at: datetime


async def issue_codes(
    rt: EscalationsRuntime, actor: Actor, whistle_id: UUID, count: int, address: str
) -> Codes:
    """The raiser's one-time codes for residents, at most `rating_codes_per_whistle` in all
    (409 naming `body.count` past it; 422 if the count alone exceeds it)."""
    cap = rt.settings.rating_codes_per_whistle
    if count > cap:
        raise Invalid(f"at most {cap} rating codes per whistle", field="body.count")
    now = rt.clock.now()
    expires = now + timedelta(hours=rt.settings.rating_code_ttl_hours)
    async with locked(rt, whistle_id) as (uow, w):
        as_raiser(actor, w, "issue rating codes")
        issued = await codes.issued_for(uow.conn, whistle_id)
        refused = codes_refused(issued, count, cap)
        if refused is not None:
            log.warning(
                "rating_codes.refused", whistle_id=str(whistle_id), issued=issued, asked=count
            )
            raise Conflict(refused, field="body.count")
        fresh = [new_code() for _ in range(count)]
        await codes.issue(
            uow.conn,
            [code_hash(c) for c in fresh],
            whistle_id,
            issued_by=actor.subject,
            issuer_party_id=actor.party_id,
            issued_from=address,
            issued_at=now,
            expires_at=expires,
        )
    return Codes(fresh, expires)


@dataclass(frozen=True)
class Rated:
    rating_id: UUID
    whistle_id: UUID
    satisfied: bool
    flagged: bool


async def redeem(
    rt: EscalationsRuntime, code: str, rating: int, comment: str, redeemer: Party
) -> Rated:
    """A resident's rating with a one-time code (no token): once, on a closed whistle. An
    unknown code is 404, a used or expired one 410, a whistle not closed yet 409 (the code
    is kept). A redemption by the issuing party itself is kept flagged and announced to no
    one, so it counts in no rate."""
    now = rt.clock.now()
    hashed = code_hash(code)
    async with rt.unit_of_work() as uow:
        row = await codes.lock(uow.conn, hashed)
        if row is None:
            raise NotFound("unknown code", field="body.code")
        if row["used_at"] is not None:
            raise Gone("this code has already been used", field="body.code")
        if row["expires_at"] <= now:
            raise Gone("this code has expired", field="body.code")
        w = await whistles.load(uow.conn, row["whistle_id"], lock=True)
        assert w is not None
        if w.state is not State.CLOSED:
            raise Conflict(
                f"the whistle is {w.state.value}: residents rate a closed matter", field="state"
            )
        issuer = Party(row["issued_from"], row["issued_by"], str(row["issuer_party_id"]))
        reason = self_redemption(issuer, redeemer)
        rating_id = uuid4()
        happy = satisfied(rating, rt.settings.satisfied_from_rating)
        await codes.spend(
            uow.conn,
            hashed,
            rating_id=rating_id,
            whistle_id=w.whistle_id,
            rating=rating,
            satisfied=happy,
            comment=comment,
            at=now,
            address=redeemer.address,
            flag_reason=reason,
        )
        if reason is None:
            event = events.rated(w.whistle_id, rating_id, rating, happy, now)
            await history.record(uow.conn, uow.emit, event)
    if reason is not None:
        log.warning("rating_codes.self_redemption", whistle_id=str(w.whistle_id), reason=reason)
    return Rated(rating_id, w.whistle_id, happy, reason is not None)
