"""The unit's resources list (资源清单): the list with a status filter in the URL, offering a
resource (funds entered in yuan), a resource's page with its versions, a new version, its
withdrawal, and the needs suggested for it. For a unit administrator only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.domain.money import MoneyInputError, fen_from_yuan, yuan_input
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.http.forms import FormErrors
from cobuild_console.http.tasks import unit_admin
from cobuild_console.http.web import Acting, ActingDep, redirect, render
from cobuild_console.usecases import needs, resources

router = APIRouter()
_TEXT = ("category", "kind", "title", "description", "capacity_unit", "available_from",
         "available_until")  # fmt: skip


def _blank_form(today: str) -> dict[str, Any]:
    return {
        "category": "",
        "kind": "",
        "title": "",
        "description": "",
        "capacity": "1",
        "capacity_unit": "",
        "funds_yuan": "",
        "available_from": today,
        "available_until": "",
        "community_ids": [],
    }


def _form_of(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource as the edit form shows it."""
    form: dict[str, Any] = {k: str(resource.get(k) or "") for k in _TEXT}
    form["capacity"] = str(resource["capacity"])
    form["funds_yuan"] = yuan_input(int(resource["funds_fen"])) if resource["funds_fen"] else ""
    form["community_ids"] = [str(c) for c in resource["community_ids"]]
    return form


async def _read(request: Request) -> tuple[dict[str, Any], dict[str, Any], FormErrors, str]:
    """The form as typed, the service's fields, the errors found here, the submission id."""
    raw = await request.form()
    form: dict[str, Any] = {
        k: str(raw.get(k, "")).strip() for k in (*_TEXT, "capacity", "funds_yuan")
    }
    form["community_ids"] = [str(v) for v in raw.getlist("community_ids") if str(v)]
    errors = FormErrors()
    fields: dict[str, Any] = {k: form[k] for k in _TEXT}
    fields["community_ids"] = form["community_ids"]
    try:
        fields["funds_fen"] = fen_from_yuan(form["funds_yuan"])
    except MoneyInputError as bad:
        errors.add("funds_yuan", i18n.gettext(bad.reason))
    try:
        fields["capacity"] = int(form["capacity"] or "0")
    except ValueError:
        errors.add("capacity", i18n.gettext("Enter a whole number."))
    return form, fields, errors, str(raw.get("submission_id", ""))


async def _list_page(
    request: Request,
    who: Acting,
    *,
    status_filter: str | None,
    offset: int,
    form: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    code: int = 200,
) -> Response:
    token = await who.token()
    page, ref, paired = await resources.listing(who.rt, token, who.party_id, status_filter, offset)
    return render(
        request,
        "resources/list.html",
        status=code,
        page=page,
        vocab=resources.vocab(ref, i18n.current_locale.get()),
        statuses=resources.STATUSES,
        status_filter=status_filter or "",
        paired=paired,
        form=form or _blank_form(who.rt.today().isoformat()),
        errors=errors or FormErrors(),
        today=who.rt.today(),
    )


@router.get("/resources")
async def listing(
    request: Request,
    who: ActingDep,
    status: Annotated[str | None, Query()] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    unit_admin(who)
    chosen = status if status in resources.STATUSES else None
    return await _list_page(request, who, status_filter=chosen, offset=offset)


@router.post("/resources")
async def offer(request: Request, who: ActingDep) -> Response:
    unit_admin(who)
    form, fields, errors, key = await _read(request)
    made: dict[str, Any] = {}
    if not errors:
        try:
            made = await resources.offer(who.rt, await who.token(), who.party_id, fields, key)
        except ServiceRefusal as refused:
            if refused.status != 422:
                raise
            errors = FormErrors.of_refusal(refused, resources.RENAMED, resources.FIELDS)
    if errors:
        return await _list_page(
            request, who, status_filter=None, offset=0, form=form, errors=errors, code=422
        )
    who.session.say(
        "info",
        i18n.ngettext(
            "Resource “%(title)s” offered; %(num)s need suits it.",
            "Resource “%(title)s” offered; %(num)s needs suit it.",
            len(made.get("matches", [])),
            title=form["title"],
        ),
    )
    return redirect(f"/resources/{made['resource_id']}")


async def _resource_page(
    request: Request,
    who: Acting,
    resource_id: str,
    *,
    form: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    code: int = 200,
) -> Response:
    token = await who.token()
    view = await resources.show(who.rt, token, who.party_id, resource_id)
    ref = await needs.reference(who.rt, token)
    return render(
        request,
        "resources/resource.html",
        status=code,
        view=view,
        r=view.resource,
        vocab=resources.vocab(ref, i18n.current_locale.get()),
        paired=view.paired,
        form=form or _form_of(view.resource),
        errors=errors or FormErrors(),
        today=who.rt.today(),
    )


@router.get("/resources/{resource_id}")
async def show(request: Request, resource_id: str, who: ActingDep) -> Response:
    unit_admin(who)
    return await _resource_page(request, who, resource_id)


@router.post("/resources/{resource_id}")
async def revise(request: Request, resource_id: str, who: ActingDep) -> Response:
    unit_admin(who)
    form, fields, errors, key = await _read(request)
    made: dict[str, Any] = {}
    if not errors:
        try:
            made = await resources.revise(who.rt, await who.token(), resource_id, fields, key)
        except ServiceRefusal as refused:
            if refused.status != 422:
                raise
            errors = FormErrors.of_refusal(refused, resources.RENAMED, resources.FIELDS)
    if errors:
        return await _resource_page(request, who, resource_id, form=form, errors=errors, code=422)
    who.session.say(
        "info",
        i18n.gettext("Saved as version %(v)s; the earlier versions are kept below.")
        % {"v": made["version"]},
    )
    return redirect(f"/resources/{resource_id}")


@router.post("/resources/{resource_id}/withdraw")
async def withdraw(
    resource_id: str,
    who: ActingDep,
    submission_id: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    unit_admin(who)
    if not reason.strip():
        who.session.say("error", i18n.gettext("Give a reason for withdrawing the resource."))
        return redirect(f"/resources/{resource_id}#withdraw")
    await resources.withdraw(who.rt, await who.token(), resource_id, reason.strip(), submission_id)
    who.session.say("info", i18n.gettext("The resource has been withdrawn."))
    return redirect(f"/resources/{resource_id}")
