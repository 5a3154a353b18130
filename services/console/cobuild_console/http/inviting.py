"""邀请: an administrator invites a person to a role for a party, sees the open invitations
of their scope (the members' ones a registration issued among them), gives one a new link
or withdraws it. A link and its QR code are shown once, on the page that issued them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.domain.refusals import N_
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.http.forms import FormErrors
from cobuild_console.http.labels import role_label
from cobuild_console.http.web import ActingDep, redirect, render
from cobuild_console.usecases import activities, inviting

router = APIRouter()
ADMINS = frozenset({"district_admin", "street_admin", "community_admin", "unit_admin"})
STATES = {
    "open": N_("Waiting to be accepted"),
    "accepted": N_("Accepted"),
    "expired": N_("Expired"),
    "withdrawn": N_("Withdrawn"),
}
MAILED = {"sent": N_("Sent by mail"), "failed": N_("Mail failed"), "none": N_("Not mailed")}
_FIELDS = frozenset({"role", "party_id", "email"})


def _admin(who: ActingDep) -> None:
    if who.role not in ADMINS:
        raise HTTPException(404)


async def _page(
    request: Request,
    who: ActingDep,
    *,
    form: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    issued: inviting.Issued | None = None,
    code: int = 200,
) -> Response:
    token = await who.token()
    listed = await inviting.listed(who.rt, token)
    offers = inviting.OFFERS.get(who.role, ())
    parties = await inviting.parties(who.rt, token, who.role, who.party_id) if offers else []
    return render(
        request,
        "inviting/invitations.html",
        status=code,
        invitations=listed,
        offers=[(role, role_label(role)) for role, _ in offers],
        parties=parties,
        form=form or {"role": offers[0][0] if offers else "", "party_id": "", "email": ""},
        errors=errors or FormErrors(),
        issued=issued,
        issued_qr=activities.qr_svg(issued.link) if issued else "",
        state_label=lambda s: i18n.gettext(STATES[s]) if s in STATES else s,
        mailed_label=lambda m: i18n.gettext(MAILED[m]) if m in MAILED else m,
    )


@router.get("/invitations")
async def listing(request: Request, who: ActingDep) -> Response:
    _admin(who)
    return await _page(request, who)


@router.post("/invitations")
async def invite(request: Request, who: ActingDep) -> Response:
    _admin(who)
    raw = await request.form()
    form = {k: str(raw.get(k, "")).strip() for k in _FIELDS}
    errors = FormErrors()
    for name in ("role", "party_id"):
        if not form[name]:
            errors.add(name, i18n.gettext("This field is required."))
    issued: inviting.Issued | None = None
    if not errors:
        try:
            issued = await inviting.invite(
                who.rt, await who.token(), form["role"], form["party_id"], form["email"],
                str(raw.get("submission_id", "")),
            )  # fmt: skip
        except ServiceRefusal as refused:
            errors = _refusal(refused)
    if errors or issued is None:
        return await _page(request, who, form=form, errors=errors, code=_status(errors))
    who.session.say("info", i18n.gettext("Invitation issued. Hand on the link or its QR code."))
    return await _page(request, who, issued=issued, code=201)


@router.post("/invitations/{invitation_id}/renew")
async def renew(
    request: Request, invitation_id: str, who: ActingDep, submission_id: Annotated[str, Form()]
) -> Response:
    _admin(who)
    try:
        issued = await inviting.renew(who.rt, await who.token(), invitation_id, submission_id)
    except ServiceRefusal as refused:
        return await _page(request, who, errors=_refusal(refused), code=refused.status)
    who.session.say("info", i18n.gettext("A new link is ready; the earlier one no longer works."))
    return await _page(request, who, issued=issued)


@router.post("/invitations/{invitation_id}/withdraw")
async def withdraw(invitation_id: str, who: ActingDep) -> Response:
    _admin(who)
    await inviting.withdraw(who.rt, await who.token(), invitation_id)
    who.session.say("info", i18n.gettext("Invitation withdrawn: its link no longer works."))
    return redirect("/invitations")


def _refusal(refused: ServiceRefusal) -> FormErrors:
    """A 422 beside its field; a refusal of the delegation rules (403) or of the invitation's
    state (409, 410) above the form, in the access service's words."""
    if refused.status == 422:
        return FormErrors.of_refusal(refused, {}, _FIELDS)
    errors = FormErrors()
    errors.add(None, str(refused.body.get("message") or refused))
    return errors


def _status(errors: FormErrors) -> int:
    return 422 if errors.fields else 403
