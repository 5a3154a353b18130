"""An agreement's page: the latest draft's items (the four fixes), earlier rounds, and the
signature of the current version for the acting party."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.domain.drafts import compare, previous_round
from cobuild_console.http import follows
from cobuild_console.http.web import ActingDep, redirect, render
from cobuild_console.usecases import agreements

router = APIRouter()


@router.get("/agreements/{agreement_id}")
async def show(request: Request, agreement_id: str, who: ActingDep) -> Response:
    agreement, parties = await agreements.show(who.rt, await who.token(), agreement_id)
    rounds = agreement["rounds"]
    latest = rounds[-1] if rounds else None
    previous = previous_round(rounds, latest) if latest else None
    return render(
        request,
        "agreement.html",
        a=agreement,
        latest=latest,
        earlier=list(reversed(rounds[:-1])),
        parties=parties,
        may_sign=who.party_id in {str(p) for p in agreement.get("awaiting", [])},
        # A counter-proposal shown against the draft it answers (what changed, item by item).
        diff=compare(previous, latest) if previous and latest else None,
        previous=previous,
        may_counter=agreement["state"] == "negotiating"
        and str(agreement["proposed_by"]) != who.party_id,
        follow=await follows.button(who, "agreement", agreement_id, f"/agreements/{agreement_id}"),
    )


@router.post("/agreements/{agreement_id}/sign")
async def sign(
    agreement_id: str,
    who: ActingDep,
    version: Annotated[int, Form()],
    submission_id: Annotated[str, Form()],
) -> Response:
    answer = await agreements.sign(who.rt, await who.token(), agreement_id, version, submission_id)
    outcome = answer.get("outcome")
    who.session.say(
        "info",
        i18n.gettext("Signed. The agreement is now in force.")
        if outcome in ("signed", "amended")
        else i18n.gettext("Your signature is recorded; the other party's is awaited."),
    )
    return redirect(f"/agreements/{agreement_id}")
