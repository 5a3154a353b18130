"""The member's phone pages under /m/ (issue 36): home, report (报到), activities with sign-up
and check-in by the QR code's link, my points, micro-wishes, my data. Each page is small and
works without JavaScript: plain forms with the session's CSRF token."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.domain import phone
from cobuild_console.domain.refusals import explain
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.http.web import Acting, acting, redirect, render, session_of
from cobuild_console.usecases import inbox, phone_member
from cobuild_console.usecases.activities import CHECK_IN_PATH

router = APIRouter()
# How long /m/ waits for the unread count (消息) before it shows the page without it.
UNREAD_TIMEOUT_S = 2.0


async def member(request: Request) -> Acting:
    """Acting as a member; any other role finds no such page (these pages are a member's)."""
    who = await acting(request)
    if who.role != "member":
        raise HTTPException(404)
    return who


MemberDep = Annotated[Acting, Depends(member)]


def cause_label(category: str) -> str:
    return i18n.gettext(phone.CAUSES.get(category, phone.CAUSES["activity"]))


def cap_text(cap_reason: str | None) -> str:
    found = phone.cap_label(cap_reason)
    return i18n.gettext(found) if found else ""


def page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    """A phone page: its template under m/, with the helpers its entries need."""
    return render(
        request,
        template,
        status=status,
        cause_label=cause_label,
        cap_text=cap_text,
        requested_points=phone.requested_points,
        **context,
    )


def _said(refused: ServiceRefusal) -> str:
    message_id, args = explain(str(refused.body.get("message", "")), refused.code)
    text = i18n.gettext(message_id)
    return text % {str(i): a for i, a in enumerate(args)} if args else text


@router.get("/m/")
async def home(request: Request) -> Response:
    session = session_of(request)
    if session.signed_in and session.acting is None and not session.grants:
        # Signed in, no grant yet (a `person`): what brings them to their member record.
        return page(request, "m/person.html")
    who = await acting(request)
    if who.role == "expert":
        return redirect("/m/expert")
    if who.role != "member":
        raise HTTPException(404)
    token = await who.token()
    me = await phone_member.me(who.rt, token, who.party_id)
    m = me.member
    ids = {str(m.get(k)) for k in ("unit_id", "community_id", "requested_community_id")}
    names, unread = await asyncio.gather(
        phone_member.party_names(who.rt, token, ids),
        inbox.unread_or_none(who.rt, token, timeout_s=UNREAD_TIMEOUT_S),
    )
    return page(
        request, "m/home.html", me=me, m=m, names=names, unread=unread,
        messages=inbox.configured(who.rt),
    )  # fmt: skip


@router.get("/m/report")
async def report_page(request: Request, who: MemberDep) -> Response:
    return await _report(request, who)


async def _report(request: Request, who: Acting, *, error: str = "", status: int = 200) -> Response:
    token = await who.token()
    me = await phone_member.me(who.rt, token, who.party_id)
    m = me.member
    ids = {str(m.get(k)) for k in ("unit_id", "community_id", "requested_community_id")}
    places, names = (
        await phone_member.streets_and_communities(who.rt, token),
        await phone_member.party_names(who.rt, token, ids),
    )
    return page(
        request,
        "m/report.html",
        status=status,
        m=m,
        names=names,
        places=places,
        chosen=str(m.get("requested_community_id") or m.get("residence_community_id") or ""),
        error=error,
    )


@router.post("/m/report")
async def report(
    request: Request,
    who: MemberDep,
    submission_id: Annotated[str, Form()],
    community_id: Annotated[str, Form()] = "",
    unit_confirmed: Annotated[str, Form()] = "",
) -> Response:
    if not community_id:
        return await _report(request, who, error=i18n.gettext("Choose your community."), status=422)
    if unit_confirmed != "yes":
        return await _report(
            request,
            who,
            error=i18n.gettext("Confirm that this is your unit, or ask your unit to correct it."),
            status=422,
        )
    try:
        await phone_member.report(
            who.rt, await who.token(), who.party_id, community_id, submission_id
        )
    except ServiceRefusal as refused:
        if refused.status not in (404, 409, 422):
            raise
        return await _report(request, who, error=_said(refused), status=refused.status)
    who.session.say(
        "info", i18n.gettext("Your report has been sent. The community will answer it soon.")
    )
    return redirect("/m/")


@router.get("/m/activities")
async def activities(request: Request, who: MemberDep) -> Response:
    token = await who.token()
    me = await phone_member.me(who.rt, token, who.party_id)
    listed = (
        await phone_member.activities(who.rt, token, me.community_id) if me.community_id else []
    )
    now = who.rt.clock.now()
    upcoming = [a for a in listed if datetime.fromisoformat(str(a["ends_at"])) >= now]
    return page(request, "m/activities.html", me=me, upcoming=upcoming)


async def _activity(who: Acting, activity_id: str) -> tuple[phone_member.Me, dict[str, Any]]:
    token = await who.token()
    me = await phone_member.me(who.rt, token, who.party_id)
    if me.community_id is None:
        raise HTTPException(404)
    listed = await phone_member.activities(who.rt, token, me.community_id)
    found = next((a for a in listed if str(a["activity_id"]) == activity_id), None)
    if found is None:
        raise HTTPException(404)
    return me, found


@router.get("/m/activities/{activity_id}")
async def activity(request: Request, activity_id: str, who: MemberDep) -> Response:
    me, found = await _activity(who, activity_id)
    now = who.rt.clock.now()
    return page(
        request,
        "m/activity.html",
        a=found,
        mine=me.sign_up(activity_id),
        ended=datetime.fromisoformat(str(found["ends_at"])) < now,
        started=datetime.fromisoformat(str(found["starts_at"])) <= now,
        full=int(found["taken"]) >= int(found["capacity"]),
    )


@router.post("/m/activities/{activity_id}/sign-up")
async def sign_up(
    request: Request, activity_id: str, who: MemberDep, submission_id: Annotated[str, Form()]
) -> Response:
    _, found = await _activity(who, activity_id)
    try:
        await phone_member.sign_up(who.rt, await who.token(), activity_id, submission_id)
    except ServiceRefusal as refused:
        if refused.status not in (403, 404, 409, 422):
            raise
        who.session.say("error", _said(refused))
        return redirect(f"/m/activities/{activity_id}")
    who.session.say(
        "info",
        i18n.gettext("Signed up for “%(title)s”. Scan the QR code on site to check in.")
        % {"title": found["title"]},
    )
    return redirect(f"/m/activities/{activity_id}")


@router.post("/m/activities/{activity_id}/cancel")
async def cancel(
    request: Request, activity_id: str, who: MemberDep, submission_id: Annotated[str, Form()]
) -> Response:
    _, found = await _activity(who, activity_id)
    try:
        await phone_member.cancel_sign_up(who.rt, await who.token(), activity_id, who.party_id)
    except ServiceRefusal as refused:
        if refused.status not in (403, 404, 409, 422):
            raise
        who.session.say("error", _said(refused))
        return redirect(f"/m/activities/{activity_id}")
    who.session.say(
        "info",
        i18n.gettext("Your sign-up for “%(title)s” is cancelled.") % {"title": found["title"]},
    )
    return redirect(f"/m/activities/{activity_id}")


@router.get(CHECK_IN_PATH)
async def check_in_page(
    request: Request, who: MemberDep, activity: str = "", token: str = ""
) -> Response:
    """What the community's QR code opens: the activity, and one button to check in."""
    if not activity or not token:
        raise HTTPException(404)
    me, found = await _activity(who, activity)
    return page(request, "m/checkin.html", a=found, mine=me.sign_up(activity), check_in_token=token)


@router.post(CHECK_IN_PATH)
async def check_in(
    request: Request,
    who: MemberDep,
    activity: Annotated[str, Form()],
    token: Annotated[str, Form()],
    submission_id: Annotated[str, Form()],
) -> Response:
    _, found = await _activity(who, activity)
    try:
        done = await phone_member.check_in(
            who.rt, await who.token(), activity, token, submission_id
        )
    except ServiceRefusal as refused:
        if refused.status not in (403, 404, 409, 422, 429):
            raise
        message_id, args = phone.check_in_refusal(str(refused.body.get("message", "")))
        text = i18n.gettext(message_id)
        reason = text % {str(i): a for i, a in enumerate(args)} if args else text
        return page(request, "m/checked_in.html", status=refused.status, a=found, refused=reason)
    return page(request, "m/checked_in.html", a=found, at=done["checked_in_at"], refused="")


@router.get("/m/points")
async def my_points(request: Request, who: MemberDep) -> Response:
    token = await who.token()
    year = who.rt.today().year
    mine = await phone_member.points(who.rt, token, who.party_id, year)
    return page(request, "m/points.html", p=mine, titles=await _titles(who, token, mine))


async def _titles(who: Acting, token: str, mine: phone_member.MyPoints) -> dict[str, str]:
    """What each entry was for, by its source: the activity's or the wish's title."""
    me = await phone_member.me(who.rt, token, who.party_id)
    titles = {str(s["activity_id"]): str(s["title"]) for s in me.sign_ups}
    titles.update({str(w["wish_id"]): str(w["title"]) for w in me.wishes})
    return titles


@router.get("/m/points/{entry_id}")
async def entry(request: Request, entry_id: str, who: MemberDep) -> Response:
    """One entry of the member's own (another member's entry is not found: 404)."""
    token = await who.token()
    me = await phone_member.me(who.rt, token, who.party_id)
    found = next((e for e in me.entries if str(e["entry_id"]) == entry_id), None)
    if found is None:
        raise HTTPException(404)
    titles = {str(s["activity_id"]): str(s["title"]) for s in me.sign_ups}
    titles.update({str(w["wish_id"]): str(w["title"]) for w in me.wishes})
    return page(request, "m/entry.html", e=found, titles=titles)


@router.get("/m/wishes")
async def wishes(request: Request, who: MemberDep) -> Response:
    token = await who.token()
    me = await phone_member.me(who.rt, token, who.party_id)
    listed = await phone_member.wishes(who.rt, token, me.community_id) if me.community_id else []
    open_ = [w for w in listed if w["status"] == "open"]
    mine = [w for w in listed if str(w.get("member_id")) == who.party_id]
    return page(request, "m/wishes.html", me=me, open_wishes=open_, mine=mine)


@router.post("/m/wishes/{wish_id}/{step}")
async def wish_step(
    request: Request,
    wish_id: str,
    step: str,
    who: MemberDep,
    submission_id: Annotated[str, Form()],
) -> Response:
    if step not in ("claim", "done"):
        raise HTTPException(404)
    try:
        await phone_member.wish_step(who.rt, await who.token(), wish_id, step, submission_id)
    except ServiceRefusal as refused:
        if refused.status not in (403, 404, 409, 422):
            raise
        who.session.say("error", _said(refused))
        return redirect("/m/wishes")
    who.session.say(
        "info",
        i18n.gettext("You have taken on this wish. Mark it fulfilled once it is done.")
        if step == "claim"
        else i18n.gettext("Marked fulfilled; the community will confirm it."),
    )
    return redirect("/m/wishes")


@router.get("/m/data")
async def my_data(request: Request, who: MemberDep) -> Response:
    token = await who.token()
    me = await phone_member.me(who.rt, token, who.party_id)
    names = await phone_member.party_names(who.rt, token, {str(me.member.get("community_id"))})
    return page(request, "m/data.html", m=me.member, names=names)


@router.get("/m/data/export")
async def export(who: MemberDep) -> Response:
    content = await phone_member.export(who.rt, await who.token(), who.party_id)
    return Response(
        content,
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="my-cobuild-data.json"'},
    )


@router.post("/m/data/name")
async def show_name(
    who: MemberDep,
    submission_id: Annotated[str, Form()],
    show_full_name: Annotated[str, Form()] = "",
) -> Response:
    shown = show_full_name == "yes"
    await phone_member.show_full_name(who.rt, await who.token(), who.party_id, shown, submission_id)
    who.session.say(
        "info",
        i18n.gettext("Your full name will be shown on the honour roll.")
        if shown
        else i18n.gettext("The honour roll will show your name masked."),
    )
    return redirect("/m/data")


@router.post("/m/data/leave")
async def leave(
    request: Request,
    who: MemberDep,
    submission_id: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    if not reason.strip():
        who.session.say("error", i18n.gettext("Say why you are leaving the community."))
        return redirect("/m/data")
    try:
        await phone_member.leave(
            who.rt, await who.token(), who.party_id, reason.strip(), submission_id
        )
    except ServiceRefusal as refused:
        if refused.status not in (404, 409, 422):
            raise
        who.session.say("error", _said(refused))
        return redirect("/m/data")
    who.session.say("info", i18n.gettext("You have left the community."))
    return redirect("/m/")
