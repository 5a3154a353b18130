"""An invitation link (`<public URL>/invite/<token>`, as the access service mails and shows it):
sign in first if need be, see what it invites to, accept it, and act under the new grant.

A link that is not open any more says why (used: 409; expired or withdrawn: 410) before any
sign-in, so nobody signs in only to be told the link is dead."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.domain.refusals import N_
from cobuild_console.gateways.access import Invitation, InvitationRefused
from cobuild_console.http.labels import role_label
from cobuild_console.http.web import error_page, redirect, render, runtime_of, session_of
from cobuild_console.usecases import invitations, signin

router = APIRouter()
# What the access service issues (secrets.token_urlsafe(32)), with its own bounds.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")

# (status, title, detail) by the link's state or the access service's refusal.
_INVALID = (
    404,
    N_("This invitation link is not valid"),
    N_(
        "The link is incomplete or was never issued. Open the whole link from the message you "
        "received, or ask the administrator for a new invitation."
    ),
)
_USED = (
    409,
    N_("This invitation has already been used"),
    N_(
        "Each invitation link works once. If you accepted it yourself, your role is under "
        "“Switch role”; otherwise ask the administrator for a new invitation."
    ),
)
_EXPIRED = (
    410,
    N_("This invitation has expired"),
    N_(
        "Invitation links are valid for a few days. Ask the administrator who invited you to send a new one."
    ),
)
_WITHDRAWN = (
    410,
    N_("This invitation was withdrawn"),
    N_(
        "The administrator withdrew this invitation. Ask them for a new one if you still need the role."
    ),
)
_INVITER_GONE = (
    410,
    N_("This invitation is no longer valid"),
    N_("The administrator who invited you no longer holds that role. Ask for a new invitation."),
)
_TOO_MANY = (
    429,
    N_("Too many attempts"),
    N_("Too many attempts; wait a minute and try again."),
)
_BY_STATE = {"accepted": _USED, "expired": _EXPIRED, "withdrawn": _WITHDRAWN}


def _refused(refusal: InvitationRefused) -> tuple[int, str, str]:
    if refusal.status == 409:
        return _USED
    if refusal.status == 410:
        if "withdrawn" in refusal.message:
            return _WITHDRAWN
        if "expired" in refusal.message:
            return _EXPIRED
        return _INVITER_GONE
    if refusal.status == 429:
        return _TOO_MANY
    return _INVALID


def _dead_link(request: Request, why: tuple[int, str, str]) -> Response:
    status, title, detail = why
    return error_page(request, status, title, detail)


@router.get("/invite/{token}")
async def show(request: Request, token: str) -> Response:
    if not _TOKEN.match(token):
        return _dead_link(request, _INVALID)
    rt, session = runtime_of(request), session_of(request)
    try:
        invitation = await invitations.preview(rt, token)
    except InvitationRefused as refusal:
        return _dead_link(request, _refused(refusal))
    if invitation.state in _BY_STATE:
        session.invitation = None
        return _dead_link(request, _BY_STATE[invitation.state])
    if not session.signed_in:
        if not rt.provider.configured:
            return error_page(
                request,
                503,
                N_("Sign-in is not set up"),
                N_("No identity provider is configured for this workbench."),
            )
        session.invitation = token  # the sign-in's callback comes back here
        return redirect(await signin.start(rt, session, f"/invite/{token}"))
    return _page(request, token, invitation)


def _page(request: Request, token: str, invitation: Invitation) -> Response:
    party = invitation.party_name or i18n.gettext("(party not named)")
    return render(
        request,
        "invitation.html",
        token=token,
        invitation=invitation,
        role=role_label(invitation.role),
        party=party,
    )


@router.post("/invite/{token}")
async def accept(request: Request, token: str) -> Response:
    if not _TOKEN.match(token):
        return _dead_link(request, _INVALID)
    session = session_of(request)
    if not session.signed_in:
        return redirect(f"/invite/{token}")  # which signs in first
    try:
        grant = await invitations.accept(runtime_of(request), session, token)
    except InvitationRefused as refusal:
        return _dead_link(request, _refused(refusal))
    session.say(
        "info",
        i18n.gettext("Invitation accepted: you now act as %(role)s for %(party)s.")
        % {"role": role_label(grant.role), "party": grant.party_name},
    )
    return redirect("/")
