"""关注: the follow button on the workbench's pages of a need, an agreement and a commitment.
It shows the current state (关注, or 已关注 with 取消关注); htmx swaps it in place, and without
JavaScript the same form posts and the page comes back with what happened. The button is left
out where the notifications service is not configured or does not answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.gateways.services import ServiceRefusal, ServiceUnavailable
from cobuild_console.http.web import Acting, ActingDep, redirect, render, safe_next
from cobuild_console.usecases import follows

router = APIRouter()


@dataclass(frozen=True)
class FollowButton:
    kind: str  # need, agreement, commitment
    target_id: str
    following: bool
    back: str  # the page the button is on (where a form without JavaScript returns)


async def button(who: Acting, kind: str, target_id: str, back: str) -> FollowButton | None:
    """The button's state for a page, or None (no button) when it cannot be known."""
    found = await follows.state(who.rt, await who.token(), kind, target_id)
    return None if found is None else FollowButton(kind, target_id, found, back)


@router.post("/follows/{kind}/{target_id}")
async def change(
    request: Request,
    kind: str,
    target_id: str,
    who: ActingDep,
    action: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/",
) -> Response:
    if kind not in follows.KINDS or action not in ("follow", "unfollow"):
        raise HTTPException(404)
    back, wanted = safe_next(back), action == "follow"
    in_place = request.headers.get("hx-request") == "true"
    try:
        following = await follows.change(who.rt, await who.token(), kind, target_id, wanted)
    except ServiceRefusal as refused:
        if refused.status in (404, 422):  # not an id of anything
            raise HTTPException(404) from refused
        raise
    except ServiceUnavailable:
        said = i18n.gettext("Following is not available right now. Please try again later.")
        if in_place:
            unchanged = FollowButton(kind, target_id, not wanted, back)
            return render(request, "partials/follow.html", follow=unchanged, said=said, failed=True)
        who.session.say("error", said)
        return redirect(back)
    said = (
        i18n.gettext("Followed. Its changes will come to your notifications.")
        if following
        else i18n.gettext("You no longer follow it.")
    )
    if in_place:
        now = FollowButton(kind, target_id, following, back)
        return render(request, "partials/follow.html", follow=now, said=said, failed=False)
    who.session.say("info", said)
    return redirect(back)
