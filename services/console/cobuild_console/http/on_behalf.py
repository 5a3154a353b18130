"""代录 (on behalf): a community worker records a report, a sign-up or a wish for a resident
or member without a phone. Each act is logged in the access audit under her name."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.http.forms import FormErrors
from cobuild_console.http.web import ActingDep, redirect, render
from cobuild_console.usecases import activities, members, on_behalf

router = APIRouter()
REPORT_FIELDS = ("name", "phone", "unit_id")
SIGN_UP_FIELDS = ("member_id", "activity_id")
WISH_FIELDS = ("title", "description")


async def _page(
    request: Request,
    who: ActingDep,
    *,
    forms: dict[str, dict[str, str]] | None = None,
    errors: dict[str, FormErrors] | None = None,
    status: int = 200,
) -> Response:
    token = await who.token()
    units, (_, serving, _), listed = await asyncio.gather(
        on_behalf.units_for(who.rt, token, who.party_id),
        members.of_community(who.rt, token, who.party_id),
        activities.of_community(who.rt, token, who.party_id),
    )
    now = who.rt.clock.now().isoformat()
    upcoming = [a for a in listed if str(a["ends_at"]) > now]
    blank: dict[str, dict[str, str]] = {
        "report": dict.fromkeys(REPORT_FIELDS, ""),
        "sign_up": dict.fromkeys(SIGN_UP_FIELDS, ""),
        "wish": dict.fromkeys(WISH_FIELDS, ""),
    }
    blank.update(forms or {})
    return render(
        request,
        "members/on_behalf.html",
        status=status,
        units=units,
        serving=serving,
        upcoming=upcoming,
        forms=blank,
        errors={k: (errors or {}).get(k) or FormErrors() for k in blank},
    )


@router.get("/on-behalf")
async def form(request: Request, who: ActingDep) -> Response:
    return await _page(request, who)


def _read(raw: Any, names: tuple[str, ...]) -> dict[str, str]:
    return {k: str(raw.get(k, "")).strip() for k in names}


def _required(form: dict[str, str], names: tuple[str, ...]) -> FormErrors:
    errors = FormErrors()
    for name in names:
        if not form[name]:
            errors.add(name, i18n.gettext("This field is required."))
    return errors


@router.post("/on-behalf/report")
async def report(request: Request, who: ActingDep) -> Response:
    raw = await request.form()
    form = _read(raw, REPORT_FIELDS)
    errors = _required(form, REPORT_FIELDS)
    if not errors:
        try:
            member = await on_behalf.report(
                who.rt, await who.token(), who.party_id, form, str(raw.get("submission_id", ""))
            )
        except ServiceRefusal as refused:
            if refused.status not in (409, 422):
                raise
            errors = FormErrors.of_refusal(refused, {}, frozenset(REPORT_FIELDS))
        else:
            who.session.say(
                "info",
                i18n.gettext(
                    "%(name)s is registered and has reported to the community; "
                    "your entry on their behalf is recorded."
                )
                % {"name": member["name"]},
            )
            return redirect("/on-behalf")
    return await _page(request, who, forms={"report": form}, errors={"report": errors}, status=422)


@router.post("/on-behalf/sign-up")
async def sign_up(request: Request, who: ActingDep) -> Response:
    raw = await request.form()
    form = _read(raw, SIGN_UP_FIELDS)
    errors = _required(form, SIGN_UP_FIELDS)
    if not errors:
        try:
            await on_behalf.sign_up(
                who.rt, await who.token(), form["activity_id"], form["member_id"],
                str(raw.get("submission_id", "")),
            )  # fmt: skip
        except ServiceRefusal as refused:
            if refused.status not in (403, 409, 422):
                raise
            errors = FormErrors.of_refusal(refused, {}, frozenset(SIGN_UP_FIELDS))
        else:
            who.session.say(
                "info",
                i18n.gettext("Signed up for the activity; your entry on their behalf is recorded."),
            )
            return redirect("/on-behalf")
    return await _page(
        request, who, forms={"sign_up": form}, errors={"sign_up": errors}, status=422
    )


@router.post("/on-behalf/wish")
async def wish(request: Request, who: ActingDep) -> Response:
    raw = await request.form()
    form = _read(raw, WISH_FIELDS)
    errors = _required(form, ("title",))
    if not errors:
        try:
            await on_behalf.wish(
                who.rt, await who.token(), who.party_id, form["title"], form["description"],
                str(raw.get("submission_id", "")),
            )  # fmt: skip
        except ServiceRefusal as refused:
            if refused.status != 422:
                raise
            errors = FormErrors.of_refusal(refused, {}, frozenset(WISH_FIELDS))
        else:
            who.session.say(
                "info",
                i18n.gettext(
                    "Wish recorded for the resident; your entry on their behalf is recorded."
                ),
            )
            return redirect("/on-behalf")
    return await _page(request, who, forms={"wish": form}, errors={"wish": errors}, status=422)
