"""Negotiation (谈约) from either side: a community worker proposes a draft to a suggested
unit, a unit administrator to the community of a need its resource suits, with itemised
commitments and their four fixes (四定: what, who, deadline, funds); either counters the
other's draft; the agreements signed, with their commitments. The agreement's own page (its
rounds, the diff against the previous draft, signing) is http/agreements.py's."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.domain.money import MoneyInputError, fen_from_yuan, yuan_input
from cobuild_console.domain.refusals import explain
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.http.forms import FormErrors
from cobuild_console.http.web import ActingDep, redirect, render
from cobuild_console.usecases import needs, negotiation

router = APIRouter()
ITEM_FIELDS = (
    "commitment_id", "need_id", "title", "description", "obligor", "responsible_title",
    "deadline", "funds_yuan", "quantity", "quantity_unit", "kind", "category",
)  # fmt: skip
MAX_ITEMS = 50
BLANK_ROWS = 1  # empty item rows offered below the filled ones
# The service's item fields → the form's inputs.
_RENAMED = {
    "funds_fen": "funds_yuan",
    "obligor_party_id": "obligor",
    "beneficiary_party_id": "obligor",
}


def _blank_item(**values: str) -> dict[str, str]:
    item = dict.fromkeys(ITEM_FIELDS, "")
    item.update({"obligor": "unit", "quantity": "1", "kind": "task"})
    item.update(values)
    return item


def _item_of(c: Mapping[str, Any], community_id: str) -> dict[str, str]:
    """A round's item as the form shows it (its id kept, so an unchanged item stays itself)."""
    return _blank_item(
        commitment_id=str(c["commitment_id"]),
        need_id=str(c.get("need_id") or ""),
        title=str(c["title"]),
        description=str(c.get("description") or ""),
        obligor="community" if str(c["obligor_party_id"]) == community_id else "unit",
        responsible_title=str(c["responsible_title"]),
        deadline=str(c["deadline"]),
        funds_yuan=yuan_input(int(c.get("funds_fen") or 0)),
        quantity=str(c.get("quantity") or 1),
        quantity_unit=str(c.get("quantity_unit") or ""),
        kind=str(c["kind"]),
        category=str(c["category"]),
    )


def _read_form(raw: Mapping[str, Any]) -> tuple[dict[str, str], list[dict[str, str]]]:
    terms = {k: str(raw.get(k, "")).strip() for k in ("term_start", "term_end")}
    try:
        count = min(int(str(raw.get("item_count", "1"))), MAX_ITEMS)
    except ValueError:
        count = 1
    items = [
        {f: str(raw.get(f"items-{n}-{f}", "")).strip() for f in ITEM_FIELDS} for n in range(count)
    ]
    return terms, items


def _body(
    terms: dict[str, str], items: list[dict[str, str]], community_id: str, unit_id: str
) -> tuple[dict[str, Any], FormErrors, list[int]]:
    """The draft as the service takes it; rows left empty are skipped. Returns the body, the
    errors found here, and for each sent item its row on the form (refusals name items by
    their place in the body)."""
    errors = FormErrors()
    out: list[dict[str, Any]] = []
    rows: list[int] = []
    for n, item in enumerate(items):
        if not item["title"] and not item["commitment_id"] and not item["responsible_title"]:
            continue
        obligor, beneficiary = (
            (community_id, unit_id) if item["obligor"] == "community" else (unit_id, community_id)
        )
        sent: dict[str, Any] = {
            "title": item["title"],
            "description": item["description"],
            "kind": item["kind"],
            "category": item["category"],
            "obligor_party_id": obligor,
            "beneficiary_party_id": beneficiary,
            "responsible_title": item["responsible_title"],
            "deadline": item["deadline"],
            "quantity_unit": item["quantity_unit"] or "项",
        }
        for name in ("commitment_id", "need_id"):
            if item[name]:
                sent[name] = item[name]
        try:
            sent["funds_fen"] = fen_from_yuan(item["funds_yuan"])
        except MoneyInputError as bad:
            errors.add(f"items-{n}-funds_yuan", i18n.gettext(bad.reason))
        try:
            sent["quantity"] = int(item["quantity"] or "1")
        except ValueError:
            errors.add(f"items-{n}-quantity", i18n.gettext("Enter a whole number."))
        out.append(sent)
        rows.append(n)
    if not out:
        errors.add(None, i18n.gettext("List at least one commitment."))
    return {**terms, "items": out}, errors, rows


def _refusal_errors(refused: ServiceRefusal, rows: list[int]) -> FormErrors:
    """A refusal's fields on the form: body.items.2.deadline → the deadline of the form's
    row that was sent third."""
    errors = FormErrors()
    listed = refused.body.get("fields")
    entries = (
        listed
        if isinstance(listed, list) and listed
        else [{"field": refused.body.get("field"), "message": refused.body.get("message")}]
    )
    for entry in entries:
        path = str(entry.get("field") or "")
        message_id, args = explain(str(entry.get("message") or ""), refused.code)
        text = i18n.gettext(message_id)
        text = text % {str(i): a for i, a in enumerate(args)} if args else text
        parts = path.split(".")
        if len(parts) >= 4 and parts[:2] == ["body", "items"] and parts[2].isdigit():
            index = int(parts[2])
            row = rows[index] if index < len(rows) else index
            errors.add(f"items-{row}-{_RENAMED.get(parts[3], parts[3])}", text)
        elif len(parts) == 2 and parts[0] == "body" and parts[1] in ("term_start", "term_end"):
            errors.add(parts[1], text)
        else:
            errors.add(None, text)
    return errors


def _render_draft(
    request: Request,
    who: ActingDep,
    *,
    action: str,
    title: str,
    community: tuple[str, str],
    unit: tuple[str, str],
    terms: dict[str, str],
    items: list[dict[str, str]],
    ref: dict[str, Any],
    errors: FormErrors | None = None,
    hidden: dict[str, str] | None = None,
    status: int = 200,
    add_row: bool = False,
) -> Response:
    filled = [
        i for i in items if any(i[f] for f in ("title", "commitment_id", "responsible_title"))
    ]
    rows = filled + [_blank_item(category=filled[0]["category"] if filled else "")] * (
        BLANK_ROWS + (1 if add_row else 0)
    )
    if errors:  # keep the rows as typed, so each error stays beside its input
        rows = items + ([_blank_item()] if add_row else [])
    return render(
        request,
        "negotiation/draft.html",
        status=status,
        action=action,
        heading=title,
        community=community,
        unit=unit,
        terms=terms,
        rows=rows,
        vocab=needs.vocabularies(ref, i18n.current_locale.get()),
        errors=errors or FormErrors(),
        hidden=hidden or {},
        today=who.rt.today(),
    )


def _between(who: ActingDep, unit_id: str | None, community_id: str | None) -> tuple[str, str, str]:
    """(community id, unit id, the other side's id) of a new draft: a community worker names
    the unit, a unit administrator the community; anyone else has no such page."""
    if who.role == "community_admin" and unit_id:
        return who.party_id, unit_id, unit_id
    if who.role == "unit_admin" and community_id:
        return community_id, who.party_id, community_id
    raise HTTPException(404)


def _new_title(other: str) -> str:
    return i18n.gettext("Propose a draft to %(unit)s") % {"unit": other}


@router.get("/agreements/new")
async def new_draft(
    request: Request,
    who: ActingDep,
    unit_id: str | None = None,
    community_id: str | None = None,
    need_id: str | None = None,
) -> Response:
    token = await who.token()
    community_id, unit_id, other = _between(who, unit_id, community_id)
    need, names, ref = await negotiation.need_and_unit(who.rt, token, need_id, other)
    mine = who.session.acting.party_name if who.session.acting else ""
    names.setdefault(who.party_id, mine)
    today = who.rt.today()
    items = []
    if need is not None:
        items.append(
            _blank_item(
                need_id=str(need["need_id"]),
                title=str(need["title"]),
                obligor="unit",
                deadline=str(need["wanted_by"]),
                funds_yuan=yuan_input(int(need["funds_fen"])),
                quantity=str(need["quantity"]),
                quantity_unit=str(need["quantity_unit"]),
                kind=str(need["kind"]),
                category=str(need["category"]),
            )
        )
    terms = {"term_start": today.isoformat(), "term_end": (today + timedelta(days=365)).isoformat()}
    return _render_draft(
        request,
        who,
        action="/agreements/new",
        title=_new_title(names[other]),
        community=(community_id, names[community_id]),
        unit=(unit_id, names[unit_id]),
        terms=terms,
        items=items,
        ref=ref,
        hidden={"unit_id": unit_id, "community_id": community_id, "need_id": need_id or ""},
    )


@router.post("/agreements/new")
async def propose(request: Request, who: ActingDep) -> Response:
    raw = await request.form()
    community_id, unit_id, other = _between(
        who, str(raw.get("unit_id", "")), str(raw.get("community_id", ""))
    )
    need_id = str(raw.get("need_id", ""))
    terms, items = _read_form(raw)
    token = await who.token()
    body, errors, rows = _body(terms, items, community_id, unit_id)
    if "add" not in raw and not errors:
        body.update({"community_id": community_id, "unit_id": unit_id})
        if need_id:
            body["need_id"] = need_id
        try:
            made = await negotiation.propose(who.rt, token, body, str(raw.get("submission_id", "")))
        except ServiceRefusal as refused:
            if refused.status != 422:
                raise
            errors = _refusal_errors(refused, rows)
        else:
            who.session.say("info", _sent(who))
            return redirect(f"/agreements/{made['agreement_id']}")
    _, names, ref = await negotiation.need_and_unit(who.rt, token, None, other)
    names.setdefault(who.party_id, who.session.acting.party_name if who.session.acting else "")
    return _render_draft(
        request,
        who,
        action="/agreements/new",
        title=_new_title(names[other]),
        community=(community_id, names[community_id]),
        unit=(unit_id, names[unit_id]),
        terms=terms,
        items=items,
        ref=ref,
        errors=errors if "add" not in raw else None,
        hidden={"unit_id": unit_id, "community_id": community_id, "need_id": need_id},
        status=422 if errors and "add" not in raw else 200,
        add_row="add" in raw,
    )


def _sent(who: ActingDep) -> str:
    if who.role == "unit_admin":
        return i18n.gettext("Draft sent to the community. Its answer will show here.")
    return i18n.gettext("Draft sent to the unit. Its answer will show here.")


def _sides(
    a: Mapping[str, Any], parties: Mapping[str, str]
) -> tuple[tuple[str, str], tuple[str, str]]:
    c, u = str(a["community_id"]), str(a["unit_id"])
    return (c, parties.get(c, "")), (u, parties.get(u, ""))


@router.get("/agreements/{agreement_id}/counter")
async def counter_form(request: Request, agreement_id: str, who: ActingDep) -> Response:
    a, parties, ref = await negotiation.agreement(who.rt, await who.token(), agreement_id)
    latest = a["rounds"][-1]
    community, unit = _sides(a, parties)
    return _render_draft(
        request,
        who,
        action=f"/agreements/{agreement_id}/counter",
        title=i18n.gettext("Counter version %(v)s") % {"v": latest["version"]},
        community=community,
        unit=unit,
        terms={"term_start": str(latest["term_start"]), "term_end": str(latest["term_end"])},
        items=[_item_of(i, community[0]) for i in latest["items"]],
        ref=ref,
        hidden={"counters_version": str(latest["version"])},
    )


@router.post("/agreements/{agreement_id}/counter")
async def counter(request: Request, agreement_id: str, who: ActingDep) -> Response:
    raw = await request.form()
    token = await who.token()
    a, parties, ref = await negotiation.agreement(who.rt, token, agreement_id)
    community, unit = _sides(a, parties)
    terms, items = _read_form(raw)
    body, errors, rows = _body(terms, items, community[0], unit[0])
    version = str(raw.get("counters_version", ""))
    if "add" not in raw and not errors:
        body["counters_version"] = int(version or a["version"])
        try:
            await negotiation.counter(
                who.rt, token, agreement_id, body, str(raw.get("submission_id", ""))
            )
        except ServiceRefusal as refused:
            if refused.status != 422:
                raise
            errors = _refusal_errors(refused, rows)
        else:
            who.session.say(
                "info",
                i18n.gettext("Counter-proposal sent to the community.")
                if who.role == "unit_admin"
                else i18n.gettext("Counter-proposal sent to the unit."),
            )
            return redirect(f"/agreements/{agreement_id}")
    return _render_draft(
        request,
        who,
        action=f"/agreements/{agreement_id}/counter",
        title=i18n.gettext("Counter version %(v)s") % {"v": version},
        community=community,
        unit=unit,
        terms=terms,
        items=items,
        ref=ref,
        errors=errors if "add" not in raw else None,
        hidden={"counters_version": version},
        status=422 if errors and "add" not in raw else 200,
        add_row="add" in raw,
    )


@router.get("/agreements")
async def listing(request: Request, who: ActingDep) -> Response:
    token = await who.token()
    in_force, negotiating, parties = await negotiation.of_party(who.rt, token, who.party_id)
    ref = await needs.reference(who.rt, token)
    return render(
        request,
        "negotiation/agreements.html",
        in_force=in_force,
        negotiating=negotiating,
        parties=parties,
        vocab=needs.vocabularies(ref, i18n.current_locale.get()),
        # the other side of an agreement: the community for a unit, the unit for a community
        other=lambda a: str(a["community_id" if who.role == "unit_admin" else "unit_id"]),
    )
