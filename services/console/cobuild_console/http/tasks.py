"""The unit's tasks board (任务看板) and one task's page: claim, assign members, report
progress with the amount paid (entered in yuan) and evidence photos, mark done. For a unit
administrator; to anyone else these pages do not exist."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.domain.money import MoneyInputError, fen_from_yuan, yuan_input
from cobuild_console.domain.refusals import N_
from cobuild_console.domain.tasks import COLUMNS, Column, EntryError, hours, percent
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.http import follows
from cobuild_console.http.forms import FormErrors
from cobuild_console.http.web import IMAGE_TYPES, Acting, ActingDep, redirect, render
from cobuild_console.usecases import tasks

router = APIRouter()
UNIT = "unit_admin"
# What each form of the task page posts, and the service fields they carry.
_RENAMED = {"paid_fen": "paid_yuan"}
_FIELDS = frozenset(
    {"member_ids", "percent", "note", "paid_yuan", "payment_ref", "file", "participants"}
)
COLUMN_LABELS = {
    Column.TO_CLAIM: N_("To claim"),
    Column.IN_PROGRESS: N_("Being fulfilled"),
    Column.AWAITING: N_("Done, awaiting confirmation"),
    Column.OVERDUE: N_("Overdue"),
}
# The commitments service's own bound on a file (evidence_max_bytes).
MAX_EVIDENCE_BYTES = 10 * 1024 * 1024


def unit_admin(who: Acting) -> Acting:
    if who.role != UNIT:
        raise HTTPException(404)
    return who


@router.get("/tasks")
async def board(request: Request, who: ActingDep) -> Response:
    unit_admin(who)
    b = await tasks.board(who.rt, await who.token(), who.party_id)
    return render(
        request,
        "tasks/board.html",
        board=b,
        columns=COLUMNS,
        column_label=lambda c: i18n.gettext(COLUMN_LABELS[c]),
        today=who.rt.today(),
    )


@router.post("/tasks/{commitment_id}/claim")
async def claim(
    request: Request, commitment_id: str, who: ActingDep, submission_id: Annotated[str, Form()]
) -> Response:
    unit_admin(who)
    htmx = request.headers.get("hx-request") == "true"
    try:
        c = await tasks.claim(who.rt, await who.token(), commitment_id, submission_id)
    except ServiceRefusal as refused:
        if refused.status not in (409, 422):
            raise
        message = FormErrors.of_refusal(refused, {}, frozenset()).general
        text = " ".join(message)
        if htmx:
            return render(request, "tasks/claimed.html", error=text, c=None)
        who.session.say("error", text)
        return redirect("/tasks")
    done = i18n.gettext("Claimed “%(title)s”; it now stands under Being fulfilled.") % {
        "title": c["title"]
    }
    if htmx:
        return render(request, "tasks/claimed.html", error="", done=done, c=c)
    who.session.say("info", done)
    return redirect(f"/tasks/{commitment_id}")


async def _task_page(
    request: Request,
    who: Acting,
    commitment_id: str,
    *,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    view = await tasks.task(who.rt, await who.token(), who.party_id, commitment_id)
    if str(view.commitment["obligor_party_id"]) != who.party_id:
        # The unit's page of a commitment it does not owe: the community's page shows it.
        return redirect(f"/commitments/{commitment_id}")
    c = view.commitment
    defaults = {
        "percent": str(c["percent"]),
        "note": "",
        "paid_yuan": yuan_input(int(c["paid_fen"])) if c["paid_fen"] else "",
        "payment_ref": c.get("payment_ref") or "",
    }
    return render(
        request,
        "tasks/task.html",
        status=status,
        view=view,
        c=c,
        errors=errors or FormErrors(),
        form={**defaults, **(form or {})},
        assigned={str(m) for m in c["member_ids"]},
        image_types=IMAGE_TYPES,
        follow=await follows.button(who, "commitment", commitment_id, f"/tasks/{commitment_id}"),
    )


@router.get("/tasks/{commitment_id}")
async def task(request: Request, commitment_id: str, who: ActingDep) -> Response:
    unit_admin(who)
    return await _task_page(request, who, commitment_id)


async def _refused(
    request: Request,
    who: Acting,
    commitment_id: str,
    refused: ServiceRefusal,
    form: dict[str, str] | None = None,
) -> Response:
    if refused.status not in (409, 413, 422):
        raise refused
    errors = FormErrors.of_refusal(refused, _RENAMED, _FIELDS)
    return await _task_page(
        request, who, commitment_id, errors=errors, form=form, status=refused.status
    )


@router.post("/tasks/{commitment_id}/assignees")
async def assign(request: Request, commitment_id: str, who: ActingDep) -> Response:
    unit_admin(who)
    raw = await request.form()
    member_ids = [str(v) for v in raw.getlist("member_ids")]
    if not member_ids:
        errors = FormErrors()
        errors.add("member_ids", i18n.gettext("Choose at least one member."))
        return await _task_page(request, who, commitment_id, errors=errors, status=422)
    try:
        await tasks.assign(
            who.rt, await who.token(), commitment_id, member_ids, str(raw.get("submission_id"))
        )
    except ServiceRefusal as refused:
        return await _refused(request, who, commitment_id, refused)
    who.session.say(
        "info",
        i18n.ngettext("%(num)s member assigned.", "%(num)s members assigned.", len(member_ids)),
    )
    return redirect(f"/tasks/{commitment_id}#assign")


@router.post("/tasks/{commitment_id}/progress")
async def progress(request: Request, commitment_id: str, who: ActingDep) -> Response:
    unit_admin(who)
    raw = await request.form()
    form = {k: str(raw.get(k, "")).strip() for k in ("percent", "note", "paid_yuan", "payment_ref")}
    errors = FormErrors()
    body: dict[str, Any] = {"note": form["note"]}
    try:
        body["percent"] = percent(form["percent"])
    except EntryError as bad:
        errors.add("percent", i18n.gettext(bad.reason))
    if form["paid_yuan"]:
        try:
            body["paid_fen"] = fen_from_yuan(form["paid_yuan"])
        except MoneyInputError as bad:
            errors.add("paid_yuan", i18n.gettext(bad.reason))
    if form["payment_ref"]:
        body["payment_ref"] = form["payment_ref"]
    elif body.get("paid_fen"):  # the service's rule: a payment names its voucher
        errors.add("payment_ref", i18n.gettext("A payment needs its voucher or transfer number."))
    if errors:
        return await _task_page(request, who, commitment_id, errors=errors, form=form, status=422)
    try:
        await tasks.progress(
            who.rt, await who.token(), commitment_id, body, str(raw.get("submission_id"))
        )
    except ServiceRefusal as refused:
        return await _refused(request, who, commitment_id, refused, form)
    who.session.say("info", i18n.gettext("Progress recorded: %(p)s%%.") % {"p": body["percent"]})
    return redirect(f"/tasks/{commitment_id}#progress")


@router.post("/tasks/{commitment_id}/evidence")
async def evidence(
    request: Request,
    commitment_id: str,
    who: ActingDep,
    submission_id: Annotated[str, Form()],
    file: Annotated[UploadFile | None, Form()] = None,
) -> Response:
    unit_admin(who)
    errors = FormErrors()
    content = await file.read(MAX_EVIDENCE_BYTES + 1) if file is not None else b""
    if file is None or not file.filename or not content:
        errors.add("file", i18n.gettext("Choose a photo or a PDF file first."))
    elif len(content) > MAX_EVIDENCE_BYTES:
        errors.add("file", i18n.gettext("The file is larger than 10 MB; send a smaller photo."))
    if errors or file is None:
        return await _task_page(request, who, commitment_id, errors=errors, status=422)
    try:
        await tasks.add_evidence(
            who.rt,
            await who.token(),
            commitment_id,
            file.filename or "evidence",
            content,
            file.content_type or "application/octet-stream",
            submission_id,
        )
    except ServiceRefusal as refused:
        return await _refused(request, who, commitment_id, refused)
    who.session.say(
        "info", i18n.gettext("“%(name)s” uploaded as evidence.") % {"name": file.filename}
    )
    return redirect(f"/tasks/{commitment_id}#evidence")


@router.post("/tasks/{commitment_id}/done")
async def mark_done(request: Request, commitment_id: str, who: ActingDep) -> Response:
    unit_admin(who)
    raw = await request.form()
    errors = FormErrors()
    participants: list[tuple[str, Decimal]] = []
    form: dict[str, str] = {}
    for name, value in raw.multi_items():
        if not name.startswith("hours-") or not isinstance(value, str):
            continue
        form[name] = value
        try:
            h = hours(value)
        except EntryError as bad:
            errors.add(name, i18n.gettext(bad.reason))
            continue
        if h is not None:
            participants.append((name.removeprefix("hours-"), h))
    if errors:
        return await _task_page(request, who, commitment_id, errors=errors, form=form, status=422)
    try:
        await tasks.mark_done(
            who.rt, await who.token(), commitment_id, participants, str(raw.get("submission_id"))
        )
    except ServiceRefusal as refused:
        return await _refused(request, who, commitment_id, refused, form)
    who.session.say(
        "info", i18n.gettext("Marked done. The community will confirm or send it back.")
    )
    return redirect(f"/tasks/{commitment_id}")
