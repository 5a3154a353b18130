"""A commitment's page: its state, history and evidence; the beneficiary confirms the
fulfilment or refuses it with a reason (确认履约 / 退回)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.http import follows
from cobuild_console.http.forms import FormErrors
from cobuild_console.http.web import IMAGE_TYPES, ActingDep, evidence_response, redirect, render
from cobuild_console.usecases import commitments

router = APIRouter()
_REFUSE_FIELDS = frozenset({"reason"})


async def _page(
    request: Request,
    who: ActingDep,
    commitment_id: str,
    *,
    errors: FormErrors | None = None,
    reason: str = "",
    status: int = 200,
) -> Response:
    view = await commitments.show(who.rt, await who.token(), commitment_id)
    return render(
        request,
        "commitment.html",
        status=status,
        view=view,
        c=view.commitment,
        may_confirm=view.awaits_confirmation_by(who.party_id),
        errors=errors or FormErrors(),
        reason=reason,
        image_types=IMAGE_TYPES,
        follow=await follows.button(
            who, "commitment", commitment_id, f"/commitments/{commitment_id}"
        ),
    )


@router.get("/commitments/{commitment_id}")
async def show(request: Request, commitment_id: str, who: ActingDep) -> Response:
    return await _page(request, who, commitment_id)


@router.post("/commitments/{commitment_id}/confirm")
async def confirm(
    request: Request, commitment_id: str, who: ActingDep, submission_id: Annotated[str, Form()]
) -> Response:
    try:
        await commitments.confirm(who.rt, await who.token(), commitment_id, submission_id)
    except ServiceRefusal as refused:
        if refused.status not in (409, 422):
            raise
        errors = FormErrors.of_refusal(refused, {}, frozenset())
        return await _page(request, who, commitment_id, errors=errors, status=refused.status)
    who.session.say("info", i18n.gettext("Fulfilment confirmed. Thank you."))
    return redirect(f"/commitments/{commitment_id}")


@router.post("/commitments/{commitment_id}/refuse")
async def refuse(
    request: Request,
    commitment_id: str,
    who: ActingDep,
    submission_id: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    errors = FormErrors()
    if not reason.strip():
        errors.add(
            "reason", i18n.gettext("Say why the work is sent back, so the unit knows what to do.")
        )
        return await _page(request, who, commitment_id, errors=errors, reason=reason, status=422)
    try:
        await commitments.refuse(
            who.rt, await who.token(), commitment_id, reason.strip(), submission_id
        )
    except ServiceRefusal as refused:
        if refused.status not in (409, 422):
            raise
        errors = FormErrors.of_refusal(refused, {}, _REFUSE_FIELDS)
        return await _page(
            request, who, commitment_id, errors=errors, reason=reason, status=refused.status
        )
    who.session.say("info", i18n.gettext("Sent back to the unit with your reason."))
    return redirect(f"/commitments/{commitment_id}")


@router.get("/commitments/{commitment_id}/evidence/{evidence_id}")
async def evidence(commitment_id: str, evidence_id: str, who: ActingDep) -> Response:
    """The file as the service serves it (only the two parties and their supervisors may):
    images shown inline, anything else downloaded."""
    answer = await commitments.evidence_file(who.rt, await who.token(), commitment_id, evidence_id)
    return evidence_response(answer)
