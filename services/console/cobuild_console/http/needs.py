"""The needs list (需求清单): the community's needs with filters and sort kept in the URL,
publishing a new need (money entered in yuan), a need's page (its versions, the units
suggested for it), editing it (a new version) and withdrawing it with a reason."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.domain.matches import explain_reason
from cobuild_console.domain.money import MoneyInputError, fen_from_yuan, yuan_input
from cobuild_console.domain.needs_list import SORTS, NeedsQuery, select
from cobuild_console.domain.refusals import N_
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.http import follows
from cobuild_console.http.forms import FormErrors
from cobuild_console.http.web import ActingDep, redirect, render
from cobuild_console.usecases import needs

router = APIRouter()
COMMUNITY_ONLY = "community_admin"
_TEXT_FIELDS = (
    "category",
    "kind",
    "title",
    "description",
    "quantity_unit",
    "wanted_by",
    "visibility",
)
SORT_LABELS = {
    "wanted_by": N_("Wanted by, soonest first"),
    "-wanted_by": N_("Wanted by, latest first"),
    "-published_at": N_("Newest first"),
    "-funds": N_("Largest funds first"),
    "title": N_("By title"),
}


def _blank_form() -> dict[str, str]:
    return {
        "category": "",
        "kind": "",
        "title": "",
        "description": "",
        "quantity": "1",
        "quantity_unit": "",
        "funds_yuan": "",
        "wanted_by": "",
        "beneficiaries": "0",
        "visibility": "public",
    }


def _form_of(need: dict[str, Any]) -> dict[str, str]:
    form = {k: str(need.get(k, "")) for k in _blank_form()}
    form["funds_yuan"] = yuan_input(int(need.get("funds_fen") or 0))
    return form


def _fields(form: dict[str, str]) -> tuple[dict[str, Any], FormErrors]:
    """The form's text as the service's fields; amounts and counts checked here first."""
    errors = FormErrors()
    fields: dict[str, Any] = {k: form[k] for k in _TEXT_FIELDS}
    try:
        fields["funds_fen"] = fen_from_yuan(form["funds_yuan"])
    except MoneyInputError as bad:
        errors.add("funds_yuan", i18n.gettext(bad.reason))
    for name in ("quantity", "beneficiaries"):
        try:
            fields[name] = int(form[name] or "0")
        except ValueError:
            errors.add(name, i18n.gettext("Enter a whole number."))
    return fields, errors


def _query(request: Request, ref: dict[str, Any]) -> NeedsQuery:
    q = request.query_params
    try:
        offset = int(q.get("offset") or 0)
    except ValueError:
        offset = 0
    return NeedsQuery.of(
        status=q.get("status"),
        category=q.get("category"),
        kind=q.get("kind"),
        sort=q.get("sort"),
        offset=offset,
        statuses=needs.STATUSES,
        categories=[c["code"] for c in ref.get("categories", [])],
        kinds=[c["code"] for c in ref.get("need_kinds", [])],
    )


async def _page(
    request: Request,
    who: ActingDep,
    *,
    form: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    code: int = 200,
) -> Response:
    token = await who.token()
    ref = await needs.reference(who.rt, token)
    query = _query(request, ref)
    page = select(await needs.every_need(who.rt, token, who.party_id), query)

    def url(**changed: Any) -> str:
        params = query.params(**changed)
        return "/needs" + (f"?{urlencode(params)}" if params else "")

    return render(
        request,
        "needs.html",
        status=code,
        page=page,
        query=query,
        url=url,
        sorts=[(key, i18n.gettext(SORT_LABELS[key])) for key in SORTS],
        vocab=needs.vocabularies(ref, i18n.current_locale.get()),
        statuses=needs.STATUSES,
        status_filter=query.status,
        form=form or _blank_form(),
        errors=errors or FormErrors(),
        today=who.rt.today(),
    )


@router.get("/needs")
async def listing(request: Request, who: ActingDep) -> Response:
    # The filter form sends every field, empty ones too: the address kept is the short one.
    ref = await needs.reference(who.rt, await who.token())
    wanted = _query(request, ref).params()
    if request.query_params and dict(request.query_params) != wanted:
        return redirect("/needs" + (f"?{urlencode(wanted)}" if wanted else ""))
    return await _page(request, who)


@router.post("/needs")
async def publish(request: Request, who: ActingDep) -> Response:
    raw = await request.form()
    form = {k: str(raw.get(k, "")).strip() for k in _blank_form()}
    fields, errors = _fields(form)
    if not errors:
        try:
            await needs.publish(
                who.rt, await who.token(), who.party_id, fields, str(raw.get("submission_id", ""))
            )
        except ServiceRefusal as refused:
            if refused.status != 422:
                raise
            errors = FormErrors.of_refusal(refused, needs.RENAMED, needs.FIELDS)
    if errors:
        return await _page(request, who, form=form, errors=errors, code=422)
    who.session.say("info", i18n.gettext("Need “%(title)s” published.") % {"title": form["title"]})
    return redirect("/needs")


async def _need_page(
    request: Request,
    who: ActingDep,
    need_id: str,
    *,
    form: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    code: int = 200,
) -> Response:
    view = await needs.show(who.rt, await who.token(), need_id)
    versions = [h for h in view.need["history"] if h["event"] == "need.published"]
    return render(
        request,
        "need.html",
        status=code,
        n=view.need,
        versions=list(reversed(versions)),
        events=list(reversed(view.need["history"])),
        matches=view.matches,
        parties=view.parties,
        reason_text=_reason_text,
        vocab=needs.vocabularies(view.reference, i18n.current_locale.get()),
        form=form or _form_of(view.need),
        errors=errors or FormErrors(),
        today=who.rt.today(),
        editing=form is not None,
        follow=await follows.button(who, "need", need_id, f"/needs/{need_id}"),
    )


def _reason_text(reason: str) -> str:
    message_id, args = explain_reason(reason)
    text = i18n.gettext(message_id)
    return text % {str(i): a for i, a in enumerate(args)} if "%(" in text else text


@router.get("/needs/{need_id}")
async def show(request: Request, need_id: str, who: ActingDep) -> Response:
    return await _need_page(request, who, need_id)


@router.post("/needs/{need_id}")
async def revise(request: Request, need_id: str, who: ActingDep) -> Response:
    raw = await request.form()
    form = {k: str(raw.get(k, "")).strip() for k in _blank_form()}
    fields, errors = _fields(form)
    if not errors:
        try:
            answer = await needs.revise(
                who.rt, await who.token(), need_id, fields, str(raw.get("submission_id", ""))
            )
        except ServiceRefusal as refused:
            if refused.status != 422:
                raise
            errors = FormErrors.of_refusal(refused, needs.RENAMED, needs.FIELDS)
        else:
            who.session.say(
                "info",
                i18n.gettext("Saved as version %(v)s; the earlier versions are kept below.")
                % {"v": answer["version"]},
            )
            return redirect(f"/needs/{need_id}")
    return await _need_page(request, who, need_id, form=form, errors=errors, code=422)


@router.post("/needs/{need_id}/withdraw")
async def withdraw(
    need_id: str,
    who: ActingDep,
    submission_id: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    back: Annotated[str, Query()] = "",
) -> Response:
    to = f"/needs/{need_id}" if back == "need" else "/needs"
    if not reason.strip():
        who.session.say("error", i18n.gettext("Give a reason for withdrawing the need."))
        return redirect(to)
    await needs.withdraw(who.rt, await who.token(), need_id, reason.strip(), submission_id)
    who.session.say("info", i18n.gettext("The need has been withdrawn."))
    return redirect(to)
