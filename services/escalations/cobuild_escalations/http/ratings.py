"""Residents' satisfaction: the raiser's one-time codes, and the resident's rating (no token)."""

from __future__ import annotations

from uuid import UUID

from cobuild_kit.api import AUTHENTICATED, refusals
from cobuild_kit.errors import CobuildError
from cobuild_kit.rate_limits import client_address, rate_limit
from cobuild_kit.service import ActorDep, PublicRateLimit
from cobuild_kit.settings import ServiceSettings
from fastapi import APIRouter, Request

from cobuild_escalations.domain.codes import Party
from cobuild_escalations.http.models import CodesIn, CodesOut, RatedOut, RatingIn, RatingsOut
from cobuild_escalations.settings import EscalationsRuntime, EscalationsSettings, RuntimeDep
from cobuild_escalations.usecases import queries, ratings

router = APIRouter(tags=["ratings"], responses=AUTHENTICATED)
public = APIRouter(tags=["ratings"])


@router.post(
    "/whistles/{whistle_id}/rating-codes", status_code=201, responses=refusals(403, 404, 409)
)
async def issue_codes(
    whistle_id: UUID, body: CodesIn, actor: ActorDep, rt: RuntimeDep, request: Request
) -> CodesOut:
    """The raiser hands one-time codes to the residents who follow the matter; each rates
    it once, after it is closed. At most `rating_codes_per_whistle` in all (30 by default):
    past it, 409 naming `body.count`. Each issue records the actor, its party and address."""
    issued = await ratings.issue_codes(rt, actor, whistle_id, body.count, client_address(request))
    return CodesOut(whistle_id=whistle_id, codes=issued.codes, expires_at=issued.expires_at)


@router.get("/whistles/{whistle_id}/ratings", responses=refusals(404))
async def rating_summary(whistle_id: UUID, actor: ActorDep, rt: RuntimeDep) -> RatingsOut:
    row = await queries.ratings_of(rt, actor, whistle_id)
    return RatingsOut(
        whistle_id=whistle_id,
        codes_issued=row["issued"],
        codes_used=row["used"],
        rated=row["rated"],
        satisfied=row["satisfied"],
    )


def _redeem_per_minute(settings: ServiceSettings) -> int:
    assert isinstance(settings, EscalationsSettings)
    return settings.rating_redeem_attempts_per_minute


RedeemRateLimit = rate_limit("rating-code", _redeem_per_minute, what="code attempts")


@public.post(
    "/public/whistle-ratings",
    status_code=201,
    dependencies=[PublicRateLimit, RedeemRateLimit],
    responses=refusals(404, 409, 410, 422, 429),
)
async def rate(body: RatingIn, rt: RuntimeDep, request: Request) -> RatedOut:
    """A resident's satisfaction, 1–5, with a one-time code (no token), once the whistle is
    closed (409 before; the code is kept). An unknown code is 404, a used or expired one
    410. A redemption from the address that issued the code, or with a token of the issuing
    actor or party, is kept flagged and counts in no rate."""
    rated = await ratings.redeem(
        rt, body.code, body.rating, body.comment, await _redeemer(request, rt)
    )
    return RatedOut(rating_id=rated.rating_id, whistle_id=rated.whistle_id)


async def _redeemer(request: Request, rt: EscalationsRuntime) -> Party:
    address = client_address(request)
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return Party(address)
    try:
        actor = await rt.authenticate(header[7:].strip())
    except CobuildError:
        return Party(address)
    return Party(address, actor.subject, str(actor.party_id))
