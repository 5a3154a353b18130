"""Volunteer activities (志愿活动) of the community: publishing one, its sign-ups, closing it
with attendance confirmed in bulk, and the check-in QR code to show on a screen on site."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.domain.refusals import explain
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.http.forms import FormErrors
from cobuild_console.http.web import ActingDep, redirect, render
from cobuild_console.usecases import activities, needs

router = APIRouter()
_FIELDS = ("title", "category", "day", "start", "end", "place", "capacity")
_KNOWN = frozenset({*_FIELDS, "starts_at", "ends_at"})


def _blank(today: date) -> dict[str, str]:
    return {"title": "", "category": "", "day": today.isoformat(), "start": "09:00",
            "end": "11:00", "place": "", "capacity": "20"}  # fmt: skip


async def _page(
    request: Request,
    who: ActingDep,
    *,
    form: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Response:
    token = await who.token()
    listed = await activities.of_community(who.rt, token, who.party_id)
    ref = await needs.reference(who.rt, token)
    return render(
        request,
        "members/activities.html",
        status=status,
        activities=listed,
        vocab=needs.vocabularies(ref, i18n.current_locale.get()),
        form=form or _blank(who.rt.today()),
        errors=errors or FormErrors(),
        today=who.rt.today(),
    )


@router.get("/activities")
async def listing(request: Request, who: ActingDep) -> Response:
    return await _page(request, who)


@router.post("/activities")
async def publish(request: Request, who: ActingDep) -> Response:
    raw = await request.form()
    form = {k: str(raw.get(k, "")).strip() for k in _FIELDS}
    errors = FormErrors()
    body: dict[str, Any] = {
        "community_id": who.party_id,
        "title": form["title"],
        "category": form["category"],
        "place": form["place"],
    }
    try:
        starts, ends = activities.starts_and_ends(
            date.fromisoformat(form["day"]),
            time.fromisoformat(form["start"]),
            time.fromisoformat(form["end"]),
        )
        body.update(starts_at=starts, ends_at=ends)
    except ValueError:
        errors.add("day", i18n.gettext("Enter a date and the start and end times."))
    try:
        body["capacity"] = int(form["capacity"])
    except ValueError:
        errors.add("capacity", i18n.gettext("Enter a whole number."))
    if not errors:
        try:
            await activities.publish(
                who.rt, await who.token(), body, str(raw.get("submission_id", ""))
            )
        except ServiceRefusal as refused:
            if refused.status != 422:
                raise
            errors = FormErrors.of_refusal(refused, {"starts_at": "day", "ends_at": "end"}, _KNOWN)
    if errors:
        return await _page(request, who, form=form, errors=errors, status=422)
    who.session.say(
        "info", i18n.gettext("Activity “%(title)s” published.") % {"title": form["title"]}
    )
    return redirect("/activities")


async def _one(who: ActingDep, activity_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    found, roster = await activities.one(who.rt, await who.token(), who.party_id, activity_id)
    if found is None:
        raise HTTPException(404)
    return found, roster


@router.get("/activities/{activity_id}")
async def show(request: Request, activity_id: str, who: ActingDep) -> Response:
    activity, roster = await _one(who, activity_id)
    return render(
        request,
        "members/activity.html",
        a=activity,
        roster=roster,
        hours=activities.window_hours(activity),
        open_count=sum(1 for s in roster if s["checked_in_at"] and not s["confirmed_at"]),
    )


@router.post("/activities/{activity_id}/attendance")
async def confirm(request: Request, activity_id: str, who: ActingDep) -> Response:
    raw = await request.form()
    chosen = [str(v) for v in raw.getlist("member_id")]
    if not chosen:
        who.session.say("error", i18n.gettext("Tick the members who attended first."))
        return redirect(f"/activities/{activity_id}")
    hours: dict[str, str] = {}
    for member_id in chosen:
        text = str(raw.get(f"hours-{member_id}", "")).strip()
        try:
            value = Decimal(text)
        except InvalidOperation:
            who.session.say("error", i18n.gettext("Enter the hours as a number, such as 2 or 1.5."))
            return redirect(f"/activities/{activity_id}")
        hours[member_id] = str(value)
    try:
        done = await activities.confirm_attendance(
            who.rt, await who.token(), activity_id, hours, str(raw.get("submission_id", ""))
        )
    except ServiceRefusal as refused:
        if refused.status not in (404, 409, 422):
            raise
        message_id, args = explain(str(refused.body.get("message", "")), refused.code)
        text = i18n.gettext(message_id)
        who.session.say(
            "error",
            i18n.gettext("Nothing was confirmed: %(reason)s")
            % {"reason": text % {str(i): a for i, a in enumerate(args)} if args else text},
        )
        return redirect(f"/activities/{activity_id}")
    who.session.say(
        "info",
        i18n.ngettext(
            "Attendance of %(num)s member confirmed; their points are awarded.",
            "Attendance of %(num)s members confirmed; their points are awarded.",
            int(done["confirmed"]),
        ),
    )
    return redirect(f"/activities/{activity_id}")


@router.get("/activities/{activity_id}/qr")
async def qr(request: Request, activity_id: str, who: ActingDep) -> Response:
    """A page to show on a screen on site: the QR code members scan to check in, and the
    code itself for those who type it."""
    activity, _ = await _one(who, activity_id)
    token = await who.token()
    code = await activities.check_in_code(who.rt, token, activity_id)
    signed = await activities.check_in_token(who.rt, token, activity_id)
    url = activities.check_in_url(who.rt.settings.base_url, activity_id, signed)
    return render(
        request, "members/qr.html", a=activity, code=code, url=url, svg=activities.qr_svg(url)
    )
