"""Members (在职党员) of the community: reports waiting, accepted or declined in bulk (all or
none), and the members serving here, by name."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.domain.refusals import explain
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.http.web import ActingDep, redirect, render
from cobuild_console.usecases import members

router = APIRouter()


@router.get("/members")
async def listing(request: Request, who: ActingDep) -> Response:
    waiting, serving, units = await members.of_community(who.rt, await who.token(), who.party_id)
    return render(request, "members/members.html", waiting=waiting, serving=serving, units=units)


@router.post("/members/reports")
async def decide(request: Request, who: ActingDep) -> Response:
    raw = await request.form()
    chosen = [str(v) for v in raw.getlist("member_id")]
    decline = raw.get("decision") == "decline"
    reason = str(raw.get("reason", "")).strip()
    if not chosen:
        who.session.say("error", i18n.gettext("Tick the reports to answer first."))
        return redirect("/members#reports")
    if decline and not reason:
        who.session.say("error", i18n.gettext("Give a reason for declining."))
        return redirect("/members#reports")
    try:
        done = await members.decide(
            who.rt,
            await who.token(),
            who.party_id,
            chosen,
            reason if decline else None,
            str(raw.get("submission_id", "")),
        )
    except ServiceRefusal as refused:
        if refused.status not in (404, 409, 422):
            raise
        message_id, args = explain(str(refused.body.get("message", "")), refused.code)
        text = i18n.gettext(message_id)
        who.session.say(
            "error",
            i18n.gettext("Nothing was changed: %(reason)s")
            % {"reason": text % {str(i): a for i, a in enumerate(args)} if args else text},
        )
        return redirect("/members#reports")
    count = len(done["items"])
    who.session.say(
        "info",
        i18n.ngettext("%(num)s report declined.", "%(num)s reports declined.", count)
        if decline
        else i18n.ngettext("%(num)s member accepted.", "%(num)s members accepted.", count),
    )
    return redirect("/members#reports")
