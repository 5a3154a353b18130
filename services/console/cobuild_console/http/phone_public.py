"""The resident's rating page (群众评), public: /m/rate/{code} from the QR code the community
prints per fulfilled commitment; and the community's page that prints those QR codes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.domain.refusals import N_
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.http.phone_member import page
from cobuild_console.http.web import ActingDep, render, runtime_of
from cobuild_console.usecases import phone_public
from cobuild_console.usecases.phone_public import RATE_PATH

router = APIRouter()
MAX_CODES = 20  # a sheet of QR codes to print at once


@router.get("/commitments/{commitment_id}/resident-qr")
async def resident_qr_form(request: Request, commitment_id: str, who: ActingDep) -> Response:
    if who.role != "community_admin":
        raise HTTPException(404)
    commitment = await who.rt.services.get(
        "commitments", f"/commitments/{commitment_id}", await who.token()
    )
    return render(request, "m/resident_qr.html", c=commitment, printed=[], count=5, error="")


@router.post("/commitments/{commitment_id}/resident-qr")
async def resident_qr(
    request: Request, commitment_id: str, who: ActingDep, count: Annotated[str, Form()] = "5"
) -> Response:
    if who.role != "community_admin":
        raise HTTPException(404)
    token = await who.token()
    try:
        n = int(count)
        if not 1 <= n <= MAX_CODES:
            raise ValueError
    except ValueError:
        commitment = await who.rt.services.get(
            "commitments", f"/commitments/{commitment_id}", token
        )
        error = i18n.gettext("Enter a whole number from 1 to %(max)s.") % {"max": MAX_CODES}
        return render(
            request, "m/resident_qr.html", status=422, c=commitment, printed=[], count=count,
            error=error,
        )  # fmt: skip
    commitment, printed = await phone_public.issue_codes(who.rt, token, commitment_id, n)
    return render(request, "m/resident_qr.html", c=commitment, printed=printed, count=n, error="")


def _gone(request: Request, state: str) -> Response:
    """A used or expired link: the phone's own page (light), status 410."""
    if state == "used":
        title = N_("This rating link has been used")
        detail = N_("Each link rates once, and this one has already been used. Thank you.")
    else:
        title = N_("This rating link has expired")
        detail = N_("Ask the community for a new QR code if you still want to rate.")
    return page(
        request, "m/gone.html", status=410, title=i18n.gettext(title), detail=i18n.gettext(detail)
    )


@router.get(RATE_PATH + "/{code}")
async def rating_page(request: Request, code: str) -> Response:
    try:
        found = await phone_public.card(runtime_of(request), code)
    except ServiceRefusal as refused:
        if refused.status in (404, 422):
            raise HTTPException(404) from None
        raise
    if found.commitment is None:
        return _gone(request, found.state)
    return page(request, "m/rate.html", c=found.commitment, code=code, error="")


@router.post(RATE_PATH + "/{code}")
async def rate(
    request: Request,
    code: str,
    rating: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    rt = runtime_of(request)
    if rating not in {"1", "2", "3", "4", "5"}:
        found = await phone_public.card(rt, code)
        if found.commitment is None:
            return _gone(request, found.state)
        error = i18n.gettext("Choose from one to five stars.")
        return page(
            request, "m/rate.html", status=422, c=found.commitment, code=code, error=error,
            comment=comment,
        )  # fmt: skip
    try:
        await phone_public.rate(rt, code, int(rating), comment.strip()[:500])
    except ServiceRefusal as refused:
        if refused.status == 410:
            used = "used" in str(refused.body.get("message", ""))
            return _gone(request, "used" if used else "expired")
        if refused.status in (404, 422):
            raise HTTPException(404) from None
        raise
    return page(request, "m/rated.html", rating=int(rating))
