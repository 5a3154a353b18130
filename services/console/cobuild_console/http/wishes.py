"""Micro-wishes (微心愿) of the community: the list by state, publishing one, confirming one a
member has fulfilled."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.domain.refusals import N_
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.http.forms import FormErrors
from cobuild_console.http.web import ActingDep, redirect, render
from cobuild_console.usecases import wishes

router = APIRouter()
WISH_STATUS = {
    "open": N_("Waiting for a member"),
    "claimed": N_("Taken on by a member"),
    "done": N_("Done, awaiting confirmation"),
    "fulfilled": N_("Fulfilled"),
}
_FIELDS = frozenset({"title", "description"})


async def _page(
    request: Request,
    who: ActingDep,
    status_filter: str,
    *,
    form: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    code: int = 200,
) -> Response:
    listed = await wishes.of_community(
        who.rt, await who.token(), who.party_id, status_filter or None
    )
    return render(
        request,
        "members/wishes.html",
        status=code,
        wishes=listed,
        statuses=wishes.STATUSES,
        status_filter=status_filter,
        form=form or {"title": "", "description": ""},
        errors=errors or FormErrors(),
        wish_status=lambda code: i18n.gettext(WISH_STATUS[code]) if code in WISH_STATUS else code,
    )


@router.get("/wishes")
async def listing(request: Request, who: ActingDep, status: str = "") -> Response:
    return await _page(request, who, status if status in wishes.STATUSES else "")


@router.post("/wishes")
async def publish(request: Request, who: ActingDep) -> Response:
    raw = await request.form()
    form = {k: str(raw.get(k, "")).strip() for k in _FIELDS}
    errors = FormErrors()
    if not form["title"]:
        errors.add("title", i18n.gettext("This field is required."))
    else:
        try:
            await wishes.publish(
                who.rt, await who.token(), who.party_id, form["title"], form["description"],
                str(raw.get("submission_id", "")),
            )  # fmt: skip
        except ServiceRefusal as refused:
            if refused.status != 422:
                raise
            errors = FormErrors.of_refusal(refused, {}, _FIELDS)
    if errors:
        return await _page(request, who, "", form=form, errors=errors, code=422)
    who.session.say("info", i18n.gettext("Wish “%(title)s” published.") % {"title": form["title"]})
    return redirect("/wishes")


@router.post("/wishes/{wish_id}/confirm")
async def confirm(wish_id: str, who: ActingDep, submission_id: Annotated[str, Form()]) -> Response:
    await wishes.confirm(who.rt, await who.token(), wish_id, submission_id)
    who.session.say(
        "info", i18n.gettext("Wish confirmed as fulfilled; the member's points are awarded.")
    )
    return redirect("/wishes")
