"""Sign-in at the provider, the role switch, sign-out and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.domain.refusals import N_
from cobuild_console.http.labels import role_label
from cobuild_console.http.web import (
    error_page,
    redirect,
    render,
    runtime_of,
    safe_next,
    session_of,
)
from cobuild_console.usecases import signin

router = APIRouter()


@router.get("/signin")
async def start(request: Request, next: str = "/") -> Response:
    rt = runtime_of(request)
    if not rt.provider.configured:
        return error_page(
            request,
            503,
            N_("Sign-in is not set up"),
            N_("No identity provider is configured for this workbench."),
        )
    session = session_of(request)
    return redirect(await signin.start(rt, session, safe_next(next)))


@router.get(signin.CALLBACK)
async def callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    session = session_of(request)
    if error or not code:
        session.pending = None
        return error_page(
            request,
            401,
            N_("Sign-in did not succeed"),
            N_("The sign-in was cancelled or refused. Please start again."),
        )
    rt = runtime_of(request)
    await signin.finish(rt, session, code, state)
    if session.invitation:  # an invitation link sent her to sign in: back to it
        return redirect(f"/invite/{session.invitation}")
    if session.acting is not None:
        return redirect(session.next_url)
    return redirect("/roles")


@router.get("/roles")
async def roles(request: Request) -> Response:
    session = session_of(request)
    if not session.signed_in:
        return redirect("/signin?next=/roles")
    grants = await signin.refresh_grants(runtime_of(request), session)
    return render(request, "roles.html", grants=grants, role_label=role_label)


@router.post("/roles")
async def choose(request: Request, grant_id: Annotated[str, Form()]) -> Response:
    session = session_of(request)
    if not session.signed_in:
        return redirect("/signin?next=/roles")
    rt = runtime_of(request)
    if not any(g.grant_id == grant_id for g in session.grants):
        await signin.refresh_grants(rt, session)
    grant = await signin.act_as(rt, session, grant_id)
    session.say(
        "info",
        i18n.gettext(
            "You are now acting as %(role)s for %(party)s.",
        )
        % {"role": role_label(grant.role), "party": grant.party_name},
    )
    return redirect(safe_next(session.next_url if session.next_url != "/roles" else "/"))


@router.post("/signout")
async def sign_out(request: Request) -> Response:
    return redirect(await signin.sign_out(runtime_of(request), session_of(request)))


@router.get("/signed-out")
async def signed_out(request: Request) -> Response:
    return render(request, "signed_out.html")


@router.post("/locale")
async def switch_locale(
    request: Request, locale: Annotated[str, Form()], back: Annotated[str, Form()] = "/"
) -> Response:
    session = session_of(request)
    session.locale = i18n.pick_locale(locale, runtime_of(request).settings.default_locale)
    return redirect(safe_next(back))
