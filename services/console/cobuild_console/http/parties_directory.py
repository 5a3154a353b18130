"""共建单位名录 (the parties directory) for street and district admins: the streets,
communities, grids and units of their scope with the pairings (结对); a party's page with
its saved versions, where its name and code are changed and a unit's pairings set; and the
import from Excel with a template to download and every bad row shown."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.domain.parties_sheet import SheetError
from cobuild_console.domain.refusals import N_
from cobuild_console.domain.supervision import scope_of
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.http.forms import FormErrors
from cobuild_console.http.web import Acting, ActingDep, redirect, render
from cobuild_console.usecases import parties_directory as directory
from cobuild_console.usecases.needs import reference

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FIELDS = frozenset({"name", "code"})
KINDS = {
    "district": N_("District"),
    "street": N_("Street"),
    "community": N_("Community"),
    "grid": N_("Grid"),
    "unit": N_("Co-building unit"),
}


def kind_label(code: str) -> str:
    return i18n.gettext(KINDS[code]) if code in KINDS else code


def message(e: SheetError) -> str:
    text = i18n.gettext(e.message_id)
    return text % {str(i): a for i, a in enumerate(e.args)} if e.args else text


def _scope(who: Acting) -> str:
    scope = scope_of(who.role)
    if scope is None:
        raise HTTPException(404)
    return scope


@router.get("/parties")
async def listing(request: Request, who: ActingDep) -> Response:
    scope = _scope(who)
    found = await directory.directory(who.rt, await who.token(), scope, who.party_id)
    return render(request, "supervise/parties.html", d=found, scope=scope)


@router.get("/parties/import")
async def import_form(request: Request, who: ActingDep) -> Response:
    _scope(who)
    return render(
        request,
        "supervise/parties_import.html",
        outcome=None,
        label=directory.column_label,
        message=message,
    )


@router.get("/parties/import/template.xlsx")
async def template(who: ActingDep) -> Response:
    _scope(who)
    content = directory.template(await reference(who.rt, await who.token()))
    name = i18n.gettext("parties-template") + ".xlsx"
    disposition = f"attachment; filename=\"parties-template.xlsx\"; filename*=UTF-8''{quote(name)}"
    return Response(content, media_type=XLSX, headers={"content-disposition": disposition})


@router.post("/parties/import")
async def import_file(
    request: Request, who: ActingDep, file: Annotated[UploadFile | None, File()] = None
) -> Response:
    _scope(who)
    data = await file.read(directory.MAX_BYTES + 1) if file is not None else b""
    if not data or len(data) > directory.MAX_BYTES:
        text = (
            i18n.gettext("Choose the file to import.")
            if not data
            else i18n.gettext("The file is larger than 2 MB.")
        )
        return render(
            request, "supervise/parties_import.html", status=422, outcome=None,
            upload_error=text, label=directory.column_label, message=message,
        )  # fmt: skip
    outcome = await directory.import_file(who.rt, await who.token(), data)
    if outcome.errors:
        return render(
            request, "supervise/parties_import.html", status=422, outcome=outcome,
            label=directory.column_label, message=message,
        )  # fmt: skip
    who.session.say(
        "info",
        i18n.ngettext("%(num)s party imported.", "%(num)s parties imported.", outcome.imported),
    )
    return redirect("/parties")


async def _party_page(
    request: Request,
    who: Acting,
    party_id: UUID,
    *,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    scope = _scope(who)
    token = await who.token()
    party, history, names = await directory.party_page(who.rt, token, str(party_id))
    communities = (
        await directory.district_communities(who.rt, token, who.party_id)
        if party["kind"] == "unit" and scope == "district"
        else []
    )
    return render(
        request,
        "supervise/party.html",
        status=status,
        p=party,
        history=history,
        names=names,
        communities=communities,
        paired={str(c) for c in party["paired_community_ids"]},
        errors=errors or FormErrors(),
        form=form or {"name": party["name"], "code": party.get("code") or ""},
        kind_label=kind_label,
    )


@router.get("/parties/{party_id}")
async def show(request: Request, party_id: UUID, who: ActingDep) -> Response:
    return await _party_page(request, who, party_id)


@router.post("/parties/{party_id}")
async def change(
    request: Request,
    party_id: UUID,
    who: ActingDep,
    name: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    submission_id: Annotated[str, Form()] = "",
) -> Response:
    _scope(who)
    form = {"name": name.strip(), "code": code.strip()}
    try:
        await directory.change(
            who.rt, await who.token(), str(party_id), form["name"], form["code"], submission_id
        )
    except ServiceRefusal as refused:
        if refused.status != 422:
            raise
        errors = FormErrors.of_refusal(refused, {}, FIELDS)
        return await _party_page(request, who, party_id, errors=errors, form=form, status=422)
    who.session.say("info", i18n.gettext("Saved. The earlier version stays in the history."))
    return redirect(f"/parties/{party_id}")


@router.post("/parties/{party_id}/pairings")
async def pair(
    party_id: UUID,
    who: ActingDep,
    community: Annotated[list[str] | None, Form()] = None,
    submission_id: Annotated[str, Form()] = "",
) -> Response:
    _scope(who)
    await directory.pair(who.rt, await who.token(), str(party_id), community or [], submission_id)
    who.session.say("info", i18n.gettext("The pairings are saved."))
    return redirect(f"/parties/{party_id}")
