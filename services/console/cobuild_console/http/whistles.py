"""吹哨报到 in the workbench: a community worker or a street secretary raises a matter (with a
photo from the phone); a department, street or district works through its queue, soonest
limit first, responds (报到), uploads what was done and reports it resolved; the raiser
confirms or reopens; the street and the district see the three rates."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response
from starlette.datastructures import UploadFile as StarletteUpload

from cobuild_console import i18n
from cobuild_console.domain.whistles import (
    CATEGORIES,
    EVENTS,
    RAISERS,
    STATES,
    SUPERVISORS,
    URGENCIES,
    time_left,
)
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.http.forms import FormErrors
from cobuild_console.http.web import IMAGE_TYPES, ActingDep, evidence_response, redirect, render
from cobuild_console.usecases import whistles

router = APIRouter()
MAX_PHOTO_BYTES = 10 * 1024 * 1024  # the escalations service's own bound on a file
_RAISE_FIELDS = frozenset({"title", "description", "category", "urgency", "place_id", "photo"})
_STEP_FIELDS = frozenset({"who_comes", "note", "reason", "file"})
# Whose boxes: a raiser sees what it raised; every receiving level its queue.
_BOXES = {
    "community_admin": ("raised",),
    "street_admin": ("received", "raised", "supervised"),
    "district_admin": ("received", "supervised"),
    "unit_admin": ("received",),
}


def _labels() -> dict[str, Any]:
    def label(table: dict[str, str], code: str) -> str:
        return i18n.gettext(table[code]) if code in table else code

    return {
        "category_label": lambda c: label(CATEGORIES, c),
        "urgency_label": lambda u: label(URGENCIES, u),
        "state_label": lambda s: label(STATES, s),
        "event_label": lambda e: label(EVENTS, e),
    }


def _boxes(who: ActingDep) -> tuple[str, ...]:
    found = _BOXES.get(who.role)
    if found is None:
        raise HTTPException(404)
    return found


async def _list_page(
    request: Request,
    who: ActingDep,
    *,
    form: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Response:
    token = await who.token()
    boxes = {b: await whistles.box(who.rt, token, b) for b in _boxes(who)}
    everyone = [w for found in boxes.values() for w in found]
    parties = await whistles.party_names(who.rt, token, everyone)
    places = await whistles.places(who.rt, token, who.party_id) if who.role in RAISERS else []
    now = who.rt.clock.now()
    return render(
        request,
        "whistles/list.html",
        status=status,
        boxes=boxes,
        parties=parties,
        places=places,
        categories=CATEGORIES,
        urgencies=URGENCIES,
        may_raise=who.role in RAISERS,
        form=form or {"urgency": "normal", "place_id": who.party_id},
        errors=errors or FormErrors(),
        left=lambda w: time_left(_due(w), now),
        **_labels(),
    )


def _due(w: dict[str, Any]) -> datetime | None:
    due = w.get("next_due")
    return datetime.fromisoformat(str(due)) if due else None


@router.get("/whistles")
async def listing(request: Request, who: ActingDep) -> Response:
    return await _list_page(request, who)


async def _photo(file: StarletteUpload | None, errors: FormErrors, name: str) -> bytes:
    """The photo's bytes (empty when none was chosen); a file too large is an error."""
    if file is None or not file.filename:
        return b""
    content = await file.read(MAX_PHOTO_BYTES + 1)
    if len(content) > MAX_PHOTO_BYTES:
        errors.add(name, i18n.gettext("The file is larger than 10 MB; send a smaller photo."))
    return content


@router.post("/whistles")
async def raise_whistle(request: Request, who: ActingDep) -> Response:
    if who.role not in RAISERS:
        raise HTTPException(404)
    raw = await request.form()
    form = {k: str(raw.get(k, "")).strip() for k in _RAISE_FIELDS - {"photo"}}
    errors = FormErrors()
    for name in ("title", "category", "place_id"):
        if not form[name]:
            errors.add(name, i18n.gettext("This field is required."))
    photo = raw.get("photo")  # a form's file is Starlette's UploadFile (FastAPI's subclasses it)
    upload = photo if isinstance(photo, StarletteUpload) else None
    content = await _photo(upload, errors, "photo")
    if errors:
        return await _list_page(request, who, form=form, errors=errors, status=422)
    key = str(raw.get("submission_id", ""))
    token = await who.token()
    body = {k: form[k] for k in ("title", "description", "category", "urgency", "place_id")}
    try:
        raised = await whistles.raise_whistle(who.rt, token, body, key)
    except ServiceRefusal as refused:
        if refused.status != 422:
            raise
        errors = FormErrors.of_refusal(refused, {}, _RAISE_FIELDS)
        return await _list_page(request, who, form=form, errors=errors, status=422)
    whistle_id = str(raised["whistle_id"])
    if content and upload is not None:
        await whistles.upload(
            who.rt, token, whistle_id, upload.filename or "photo", content,
            upload.content_type or "application/octet-stream", key + "-photo",
        )  # fmt: skip
    receiver = (await whistles.party_names(who.rt, token, [raised])).get(
        str(raised["receiver_party_id"]), ""
    )
    who.session.say(
        "info",
        i18n.gettext("Whistle blown: “%(title)s” went to %(receiver)s.")
        % {"title": form["title"], "receiver": receiver},
    )
    # A fragment of its own: the browser would carry the form's "#raise" over the redirect.
    return redirect(f"/whistles/{whistle_id}#main")


async def _page(
    request: Request,
    who: ActingDep,
    whistle_id: str,
    *,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    _boxes(who)
    view = await whistles.one(who.rt, await who.token(), whistle_id)
    w = view.whistle
    receiver = str(w["receiver_party_id"]) == who.party_id
    raiser = str(w["raiser_party_id"]) == who.party_id
    return render(
        request,
        "whistles/whistle.html",
        status=status,
        w=w,
        view=view,
        image_types=IMAGE_TYPES,
        may={
            "respond": receiver and w["state"] == "routed",
            "resolve": receiver and w["state"] == "responded",
            "close": raiser and w["state"] == "resolved",
        },
        left=time_left(_due(w), who.rt.clock.now()),
        errors=errors or FormErrors(),
        form=form or {},
        **_labels(),
    )


@router.get("/whistles/{whistle_id}")
async def show(request: Request, whistle_id: str, who: ActingDep) -> Response:
    return await _page(request, who, whistle_id)


async def _step(
    request: Request,
    who: ActingDep,
    whistle_id: str,
    what: str,
    body: Any,
    done: str,
    form: dict[str, str],
) -> Response:
    try:
        raw_key = form.get("submission_id", "")
        await whistles.step(who.rt, await who.token(), whistle_id, what, body, raw_key)
    except ServiceRefusal as refused:
        if refused.status not in (409, 422):
            raise
        errors = FormErrors.of_refusal(refused, {}, _STEP_FIELDS)
        return await _page(request, who, whistle_id, errors=errors, form=form, status=422)
    who.session.say("info", done)
    return redirect(f"/whistles/{whistle_id}")


@router.post("/whistles/{whistle_id}/respond")
async def respond(
    request: Request,
    whistle_id: str,
    who: ActingDep,
    submission_id: Annotated[str, Form()],
    who_comes: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    form = {"who_comes": who_comes.strip(), "note": note.strip(), "submission_id": submission_id}
    if not form["who_comes"]:
        errors = FormErrors()
        errors.add("who_comes", i18n.gettext("This field is required."))
        return await _page(request, who, whistle_id, errors=errors, form=form, status=422)
    body = {"who_comes": form["who_comes"], "note": form["note"]}
    done = i18n.gettext("Responded (报到): the raiser sees who is coming.")
    return await _step(request, who, whistle_id, "respond", body, done, form)


@router.post("/whistles/{whistle_id}/evidence")
async def evidence(
    request: Request,
    whistle_id: str,
    who: ActingDep,
    submission_id: Annotated[str, Form()],
    file: Annotated[UploadFile | None, Form()] = None,
) -> Response:
    errors = FormErrors()
    content = await _photo(file, errors, "file")
    if not content and not errors:
        errors.add("file", i18n.gettext("Choose a photo or a PDF file first."))
    if errors or file is None:
        return await _page(request, who, whistle_id, errors=errors, status=422)
    try:
        await whistles.upload(
            who.rt, await who.token(), whistle_id, file.filename or "photo", content,
            file.content_type or "application/octet-stream", submission_id,
        )  # fmt: skip
    except ServiceRefusal as refused:
        if refused.status not in (409, 413, 422):
            raise
        errors = FormErrors.of_refusal(refused, {}, _STEP_FIELDS)
        return await _page(request, who, whistle_id, errors=errors, status=422)
    who.session.say(
        "info", i18n.gettext("“%(name)s” uploaded as evidence.") % {"name": file.filename}
    )
    return redirect(f"/whistles/{whistle_id}#resolve")


@router.post("/whistles/{whistle_id}/resolve")
async def resolve(
    request: Request,
    whistle_id: str,
    who: ActingDep,
    submission_id: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    try:
        await whistles.resolve(who.rt, await who.token(), whistle_id, note.strip(), submission_id)
    except ServiceRefusal as refused:
        if refused.status not in (409, 422):
            raise
        errors = FormErrors()
        errors.add("file", i18n.gettext("Upload a photo of what was done first."))
        form = {"note": note}
        return await _page(request, who, whistle_id, errors=errors, form=form, status=422)
    who.session.say("info", i18n.gettext("Reported resolved; the raiser confirms or reopens it."))
    return redirect(f"/whistles/{whistle_id}")


@router.post("/whistles/{whistle_id}/confirm")
async def confirm(
    request: Request, whistle_id: str, who: ActingDep, submission_id: Annotated[str, Form()]
) -> Response:
    done = i18n.gettext("Confirmed: the matter is closed.")
    form = {"submission_id": submission_id}
    return await _step(request, who, whistle_id, "confirm", None, done, form)


@router.post("/whistles/{whistle_id}/reopen")
async def reopen(
    request: Request,
    whistle_id: str,
    who: ActingDep,
    submission_id: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    form = {"reason": reason.strip(), "submission_id": submission_id}
    if not form["reason"]:
        errors = FormErrors()
        errors.add("reason", i18n.gettext("Say why it is not resolved."))
        return await _page(request, who, whistle_id, errors=errors, form=form, status=422)
    done = i18n.gettext("Reopened: it is back with the receiver.")
    return await _step(request, who, whistle_id, "reopen", {"reason": form["reason"]}, done, form)


@router.get("/whistles/{whistle_id}/evidence/{evidence_id}")
async def evidence_file(whistle_id: str, evidence_id: str, who: ActingDep) -> Response:
    """The file as the service serves it (the raiser, the receiver and the places' supervisors
    only): images inline, anything else downloaded."""
    answer = await whistles.evidence_file(who.rt, await who.token(), whistle_id, evidence_id)
    return evidence_response(answer)


@router.get("/whistle-rates")
async def rates(request: Request, who: ActingDep) -> Response:
    """The street's or the district's three rates today, with the level below."""
    if who.role not in SUPERVISORS:
        raise HTTPException(404)
    scope = "street" if who.role == "street_admin" else "district"
    view = await whistles.rates(who.rt, await who.token(), scope, who.party_id)
    return render(request, "whistles/rates.html", r=view)
