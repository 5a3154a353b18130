"""My to-do (我的待办): the home page, and the answers to a member's report made from it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.domain.refusals import explain
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.http.web import ActingDep, acting, redirect, render, session_of
from cobuild_console.usecases import todo

router = APIRouter()
WORKER_ROLES = frozenset({todo.COMMUNITY, todo.UNIT})
PHONE_ROLES = frozenset({"member", "expert"})
SUPERVISOR_ROLES = frozenset({"street_admin", "district_admin"})


@router.get("/")
async def home(request: Request) -> Response:
    session = session_of(request)
    if not session.signed_in:
        return render(request, "welcome.html")
    who = await acting(request)
    if who.role in PHONE_ROLES:  # members and experts act from their phones' pages
        return redirect("/m/")
    if who.role in SUPERVISOR_ROLES:  # a street's or district's work starts from its figures
        return redirect("/overview")
    if who.role not in WORKER_ROLES:
        return render(request, "todo.html", todo=None, parties={}, today=who.rt.today())
    lists, parties = await todo.gather(who.rt, await who.token(), who.role, who.party_id)
    return render(
        request,
        "todo.html",
        todo=lists,
        parties=parties,
        today=who.rt.today(),
        due_days=who.rt.settings.todo_due_days,
    )


@router.post("/reports/{member_id}/accept")
async def accept(
    request: Request, member_id: str, who: ActingDep, submission_id: Annotated[str, Form()]
) -> Response:
    try:
        member = await todo.accept_report(who.rt, await who.token(), member_id, submission_id)
    except ServiceRefusal as refused:
        return _report_line(request, member_id, error=refused)
    message = i18n.gettext("%(name)s has been accepted into the community.") % {
        "name": member["name"]
    }
    return _report_line(request, member_id, done=message)


@router.post("/reports/{member_id}/decline")
async def decline(
    request: Request,
    member_id: str,
    who: ActingDep,
    submission_id: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    if not reason.strip():
        return _report_line(
            request, member_id, error_text=i18n.gettext("Give a reason for declining.")
        )
    try:
        member = await todo.decline_report(
            who.rt, await who.token(), member_id, reason.strip(), submission_id
        )
    except ServiceRefusal as refused:
        return _report_line(request, member_id, error=refused)
    message = i18n.gettext("The report of %(name)s has been declined.") % {"name": member["name"]}
    return _report_line(request, member_id, done=message)


def _report_line(
    request: Request,
    member_id: str,
    *,
    done: str = "",
    error: ServiceRefusal | None = None,
    error_text: str = "",
) -> Response:
    """htmx swaps the line with this outcome; without htmx, the whole page comes back."""
    if error is not None:
        message_id, args = explain(str(error.body.get("message", "")), error.code)
        error_text = (
            i18n.gettext(message_id) % {str(i): a for i, a in enumerate(args)}
            if args
            else i18n.gettext(message_id)
        )
    if request.headers.get("hx-request") != "true":
        session = session_of(request)
        session.say("error" if error_text else "info", error_text or done)
        return redirect("/#reports")
    return render(
        request, "partials/report_outcome.html", member_id=member_id, done=done, error=error_text
    )
