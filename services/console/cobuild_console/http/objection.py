"""A member's objection to their own year-end score during 公示, on the phone (/m/objection;
the member's score page links here). The reason and up to five photos or PDFs go to the
evaluation service, which checks the window."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from cobuild_console import i18n
from cobuild_console.domain.assessment import assessed_year
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.http.assessment_labels import labels
from cobuild_console.http.forms import FormErrors
from cobuild_console.http.web import ActingDep, redirect, render
from cobuild_console.usecases import assessment

router = APIRouter()
MAX_FILES = 5
MAX_BYTES = 10 * 1024 * 1024


async def objection_files(raw: FormData, errors: FormErrors) -> list[tuple[str, bytes, str]]:
    """The form's attachments (the `files` inputs), each read once, bounded."""
    uploads = [f for f in raw.getlist("files") if isinstance(f, UploadFile) and f.filename]
    if len(uploads) > MAX_FILES:
        errors.add("files", i18n.gettext("Attach at most 5 files."))
        return []
    out: list[tuple[str, bytes, str]] = []
    for f in uploads:
        data = await f.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            errors.add("files", i18n.gettext("Each file may be at most 10 MB."))
            return []
        if data:
            out.append((f.filename or "file", data, f.content_type or "application/octet-stream"))
    return out


async def _page(
    request: Request,
    who: ActingDep,
    *,
    form: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    code: int = 200,
) -> Response:
    year = assessed_year(who.rt.today())
    mine = await assessment.own(who.rt, await who.token(), year)
    context: dict[str, Any] = labels()
    return render(
        request,
        "assessment/objection_m.html",
        status=code,
        year=year,
        mine=mine,
        form=form or {"reason": ""},
        errors=errors or FormErrors(),
        **context,
    )


@router.get("/m/objection")
async def show(request: Request, who: ActingDep) -> Response:
    if who.role != "member":
        raise HTTPException(404)
    return await _page(request, who)


@router.post("/m/objection")
async def send(request: Request, who: ActingDep) -> Response:
    if who.role != "member":
        raise HTTPException(404)
    raw = await request.form()
    reason = str(raw.get("reason", "")).strip()
    errors = FormErrors()
    if not reason:
        errors.add("reason", i18n.gettext("Say why you object."))
    files = await objection_files(raw, errors)
    if not errors:
        try:
            await assessment.file_objection(
                who.rt,
                await who.token(),
                assessed_year(who.rt.today()),
                reason,
                files,
                str(raw.get("submission_id", "")),
            )
        except ServiceRefusal as refused:
            if refused.status != 422:
                raise
            errors = FormErrors.of_refusal(refused, {}, frozenset({"reason", "files"}))
    if errors:
        return await _page(request, who, form={"reason": reason}, errors=errors, code=422)
    who.session.say("info", i18n.gettext("Your objection was sent to the district."))
    return redirect("/m/objection")
