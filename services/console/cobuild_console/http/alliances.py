"""联席会议: the alliances (党建联盟) a street, community or unit takes part in; an alliance's
members with their dates, its rotating chair (the rule, the order, who chaired when, whose
turn is next) and its meetings; members joining and leaving; the decisions' fulfilment rate
(the ledger, `origin=meeting`). Holding a meeting and a meeting's page are
http/meetings.py's.

The host's admins and the supervisors above it run an alliance; a member unit's admin and a
street alliance's community admins read it (the agreements service decides; the forms are
shown only to those it would let act)."""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.domain.rates import percent
from cobuild_console.domain.refusals import N_, explain
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.http.forms import FormErrors
from cobuild_console.http.web import Acting, ActingDep, redirect, render
from cobuild_console.usecases import alliances

router = APIRouter()
READERS = frozenset({"district_admin", "street_admin", "community_admin", "unit_admin"})
JOIN_FIELDS = frozenset({"unit_id", "joined_on"})


def reader(who: Acting) -> None:
    if who.role not in READERS:
        raise HTTPException(404)


def runs(who: Acting, alliance: dict[str, object]) -> bool:
    """Whether the page offers the alliance's forms: the host's own admin, or a supervisor
    above it (the service refuses anyone else with 403 all the same)."""
    if who.party_id == str(alliance["host_party_id"]):
        return who.role in ("street_admin", "community_admin")
    return who.role in alliances.SUPERVISORS


@router.get("/alliances")
async def listing(request: Request, who: ActingDep) -> Response:
    reader(who)
    found = await alliances.of_party(who.rt, await who.token(), who.party_id)
    return render(request, "alliances/list.html", found=found)


async def _page(
    request: Request,
    who: Acting,
    alliance_id: str,
    *,
    join_errors: FormErrors | None = None,
    join_form: dict[str, str] | None = None,
    leave_errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    reader(who)
    page = await alliances.alliance_page(who.rt, await who.token(), alliance_id)
    return render(
        request,
        "alliances/alliance.html",
        status=status,
        p=page,
        a=page.alliance,
        runs=runs(who, page.alliance),
        errors=join_errors or FormErrors(),
        join_form=join_form or {"unit_id": "", "joined_on": who.rt.today().isoformat()},
        leave_errors=leave_errors or {},
        today=who.rt.today(),
        percent=percent,
    )


@router.get("/alliances/{alliance_id}")
async def show(request: Request, who: ActingDep, alliance_id: str) -> Response:
    return await _page(request, who, alliance_id)


# The alliance rules' refusals (the agreements service's English), as a person reads them.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"must not be before the last meeting recorded \((\S+)\)"),
        N_("Not before the last meeting (%(0)s)."),
    ),
    (re.compile(r"is not a member on"), N_("This unit is not a member on that day.")),
    (
        re.compile(r"^a street's alliance names the community"),
        N_("Choose the community the decision serves."),
    ),
    (
        re.compile(r"^deadline \S+ is before the meeting"),
        N_("The deadline cannot be before the meeting or today."),
    ),
    (
        re.compile(r"is not a registered community|is not in the alliance's"),
        N_("Choose one of the listed communities."),
    ),
    (re.compile(r"is already a member"), N_("This unit is a member already.")),
)


def _rule(message: str) -> tuple[str, tuple[str, ...]] | None:
    for pattern, message_id in _RULES:
        found = pattern.search(message)
        if found:
            return message_id, found.groups()
    return None


def refusal_entries(refused: ServiceRefusal) -> list[tuple[list[str], str]]:
    """Each field a refusal names, as its path's parts (`body.decisions.0.deadline`) and
    the catalogue's message, translated."""
    listed = refused.body.get("fields")
    entries = (
        listed
        if isinstance(listed, list) and listed
        else [{"field": refused.body.get("field"), "message": refused.body.get("message")}]
    )
    out = []
    for entry in entries:
        message = str(entry.get("message") or "")
        message_id, args = _rule(message) or explain(message, refused.code)
        text = i18n.gettext(message_id)
        text = text % {str(i): a for i, a in enumerate(args)} if args else text
        out.append((str(entry.get("field") or "").split("."), text))
    return out


def _refusal_text(refused: ServiceRefusal) -> str:
    return "; ".join(text for _, text in refusal_entries(refused))


@router.post("/alliances/{alliance_id}/members")
async def join(request: Request, who: ActingDep, alliance_id: str) -> Response:
    reader(who)
    raw = await request.form()
    form = {k: str(raw.get(k, "")).strip() for k in JOIN_FIELDS}
    errors = FormErrors()
    if not form["unit_id"]:
        errors.add("unit_id", i18n.gettext("Choose the unit that joins."))
    if not errors:
        body = {"unit_id": form["unit_id"], "joined_on": form["joined_on"] or None}
        try:
            await alliances.join(
                who.rt, await who.token(), alliance_id, body, str(raw.get("submission_id", ""))
            )
        except ServiceRefusal as refused:
            if refused.status != 422:
                raise
            errors = FormErrors()
            for parts, text in refusal_entries(refused):
                name = parts[1] if len(parts) >= 2 and parts[0] == "body" else None
                errors.add(name if name in JOIN_FIELDS else None, text)
        else:
            who.session.say("info", i18n.gettext("The unit has joined the alliance."))
            return redirect(f"/alliances/{alliance_id}")
    return await _page(request, who, alliance_id, join_errors=errors, join_form=form, status=422)


@router.post("/alliances/{alliance_id}/members/{unit_id}/departure")
async def leave(request: Request, who: ActingDep, alliance_id: str, unit_id: str) -> Response:
    reader(who)
    raw = await request.form()
    left_on = str(raw.get("left_on", "")).strip()
    try:
        await alliances.leave(
            who.rt,
            await who.token(),
            alliance_id,
            unit_id,
            {"left_on": left_on or None},
            str(raw.get("submission_id", "")),
        )
    except ServiceRefusal as refused:
        if refused.status != 422:
            raise
        return await _page(
            request, who, alliance_id, leave_errors={unit_id: _refusal_text(refused)}, status=422
        )
    who.session.say("info", i18n.gettext("The unit has left the alliance."))
    return redirect(f"/alliances/{alliance_id}")
