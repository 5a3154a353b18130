"""通知 (the inbox): the person's notifications, newest first, with mark read and mark all
read; and the unread count the header loads (one small fragment, so no page waits on it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from cobuild_console import i18n
from cobuild_console.gateways.services import ServiceRefusal, ServiceUnavailable
from cobuild_console.http.web import ActingDep, redirect, render
from cobuild_console.usecases import inbox

router = APIRouter()


def _lang() -> str:
    return "en" if i18n.current_locale.get() == "en" else "zh-CN"


@router.get("/inbox")
async def inbox_page(
    request: Request,
    who: ActingDep,
    unread: Annotated[bool, Query()] = False,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> Response:
    try:
        page = await inbox.page(
            who.rt, await who.token(), unread=unread, offset=offset, lang=_lang()
        )
    except ServiceUnavailable:
        page = None
    return render(request, "inbox/list.html", page=page, unread=unread, offset=offset,
                  step=inbox.PAGE)  # fmt: skip


@router.post("/inbox/{notification_id}/read")
async def read_one(notification_id: str, who: ActingDep) -> Response:
    try:
        await inbox.mark_read(who.rt, await who.token(), notification_id)
    except ServiceRefusal:
        who.session.say("error", i18n.gettext("That notification is not in your inbox."))
    return redirect("/inbox")


@router.post("/inbox/read-all")
async def read_all(who: ActingDep) -> Response:
    marked = await inbox.mark_all_read(who.rt, await who.token())
    who.session.say(
        "info",
        i18n.ngettext(
            "%(num)s notification marked read.", "%(num)s notifications marked read.", marked
        ),
    )
    return redirect("/inbox")


@router.get("/inbox/unread")
async def unread_badge(request: Request, who: ActingDep) -> Response:
    """The header's count: empty when there is none or the service does not answer."""
    try:
        count = await inbox.unread_count(who.rt, await who.token())
    except (ServiceUnavailable, ServiceRefusal):
        return HTMLResponse("")
    return render(request, "inbox/unread.html", count=count)
