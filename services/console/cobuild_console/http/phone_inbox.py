"""消息 on a member's phone: /m/inbox with the notifications newest first, each with its
kind's tag and, where the phone has a page for it, a link; mark one read and mark all read
with plain forms (no JavaScript). /m/ shows the unread count (http/phone_member.py). Where the
notifications service is not configured there is no such page and no 消息 tile on /m/; where
it does not answer, this page says so calmly and /m/ shows the tile without a count."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.domain import inbox as words
from cobuild_console.gateways.services import ServiceRefusal, ServiceUnavailable
from cobuild_console.http.phone_member import MemberDep, page
from cobuild_console.http.web import Acting, redirect
from cobuild_console.usecases import inbox

router = APIRouter()


def _lang() -> str:
    return "en" if i18n.current_locale.get() == "en" else "zh-CN"


def _configured(who: Acting) -> None:
    if not inbox.configured(who.rt):
        raise HTTPException(404)


@router.get("/m/inbox")
async def messages(
    request: Request,
    who: MemberDep,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> Response:
    _configured(who)
    token = await who.token()
    try:
        found = await inbox.page(who.rt, token, unread=False, offset=offset, lang=_lang())
        unread = await inbox.unread_count(who.rt, token)
    except ServiceUnavailable:
        found, unread = None, 0
    return page(
        request, "m/inbox.html", found=found, unread=unread, offset=offset, step=inbox.PAGE,
        kind_tag=lambda kind: i18n.gettext(words.kind_tag(kind)), urgent=words.URGENT,
        phone_link=words.phone_link,
    )  # fmt: skip


@router.post("/m/inbox/{notification_id}/read")
async def read_one(notification_id: str, who: MemberDep) -> Response:
    _configured(who)
    try:
        await inbox.mark_read(who.rt, await who.token(), notification_id)
    except ServiceRefusal:
        who.session.say("error", i18n.gettext("That message is not in your inbox."))
    except ServiceUnavailable:
        who.session.say("error", i18n.gettext("Messages cannot be opened right now. Please try again later."))  # fmt: skip
    return redirect("/m/inbox")


@router.post("/m/inbox/read-all")
async def read_all(who: MemberDep) -> Response:
    _configured(who)
    try:
        marked = await inbox.mark_all_read(who.rt, await who.token())
    except ServiceUnavailable:
        who.session.say("error", i18n.gettext("Messages cannot be opened right now. Please try again later."))  # fmt: skip
        return redirect("/m/inbox")
    who.session.say(
        "info",
        i18n.ngettext("%(num)s message marked read.", "%(num)s messages marked read.", marked),
    )
    return redirect("/m/inbox")
