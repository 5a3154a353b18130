"""A joint meeting (联席会议): the form to hold one, chaired by the unit whose turn it is
(shown, not chosen), with attendance, agenda, minutes and its decisions (研究确定事项: what,
which unit, for which community, by when, with what funds in yuan); and a meeting's page with
each decision's commitment as the commitments service and the ledger see it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.domain.money import MoneyInputError, fen_from_yuan
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.http.alliances import reader, refusal_entries, runs
from cobuild_console.http.forms import FormErrors
from cobuild_console.http.web import Acting, ActingDep, redirect, render
from cobuild_console.usecases import alliances
from cobuild_console.usecases.needs import reference, vocabularies

router = APIRouter()
MEETING_FIELDS = ("held_on", "title", "place", "agenda", "minutes")
DECISION_FIELDS = (
    "title", "description", "responsible", "community", "category", "deadline", "funds_yuan",
)  # fmt: skip
MAX_DECISIONS = 50
BLANK_ROWS = 2  # empty decision rows offered on a new form
# The service's names → the form's inputs.
_RENAMED = {
    "present_unit_ids": "present",
    "responsible_unit_id": "responsible",
    "beneficiary_community_id": "community",
    "funds_fen": "funds_yuan",
}


def _blank() -> dict[str, str]:
    return dict.fromkeys(DECISION_FIELDS, "")


def _read(raw: Mapping[str, Any]) -> tuple[dict[str, str], list[str], list[dict[str, str]]]:
    meeting = {k: str(raw.get(k, "")).strip() for k in MEETING_FIELDS}
    getlist = getattr(raw, "getlist", None)
    present = [str(v) for v in getlist("present")] if getlist else []
    try:
        count = min(int(str(raw.get("decision_count", BLANK_ROWS))), MAX_DECISIONS)
    except ValueError:
        count = BLANK_ROWS
    rows = [
        {f: str(raw.get(f"decisions-{n}-{f}", "")).strip() for f in DECISION_FIELDS}
        for n in range(count)
    ]
    return meeting, present, rows


def _body(
    meeting: dict[str, str], present: list[str], rows: list[dict[str, str]], chair: str
) -> tuple[dict[str, Any], FormErrors, list[int]]:
    """The meeting as the service takes it (decision rows left without a title are skipped),
    the errors found here, and for each sent decision its row on the form."""
    errors = FormErrors()
    decisions: list[dict[str, Any]] = []
    sent_rows: list[int] = []
    for n, row in enumerate(rows):
        if not row["title"]:
            continue
        d: dict[str, Any] = {
            "title": row["title"],
            "description": row["description"],
            "category": row["category"],
            "deadline": row["deadline"],
        }
        if row["responsible"]:
            d["responsible_unit_id"] = row["responsible"]
        if row["community"]:
            d["beneficiary_community_id"] = row["community"]
        try:
            d["funds_fen"] = fen_from_yuan(row["funds_yuan"])
        except MoneyInputError as bad:
            errors.add(f"decisions-{n}-funds_yuan", i18n.gettext(bad.reason))
        decisions.append(d)
        sent_rows.append(n)
    body: dict[str, Any] = {
        "title": meeting["title"],
        "place": meeting["place"],
        "minutes": meeting["minutes"],
        "agenda": [line.strip() for line in meeting["agenda"].splitlines() if line.strip()],
        "present_unit_ids": present,
        "chair_unit_id": chair or None,
        "decisions": decisions,
    }
    if meeting["held_on"]:
        body["held_on"] = meeting["held_on"]
    return body, errors, sent_rows


def _refusal_errors(refused: ServiceRefusal, rows: list[int]) -> FormErrors:
    """body.decisions.1.deadline → the deadline of the form's row that was sent second;
    body.title → title; anything else concerns the whole form."""
    errors = FormErrors()
    for parts, text in refusal_entries(refused):
        if len(parts) >= 4 and parts[:2] == ["body", "decisions"] and parts[2].isdigit():
            index = int(parts[2])
            row = rows[index] if index < len(rows) else index
            errors.add(f"decisions-{row}-{_RENAMED.get(parts[3], parts[3])}", text)
        elif len(parts) >= 2 and parts[0] == "body":
            name = _RENAMED.get(parts[1], parts[1])
            errors.add(name if name in (*MEETING_FIELDS, "present") else None, text)
        else:
            errors.add(None, text)
    return errors


async def _form(
    request: Request,
    who: Acting,
    alliance_id: str,
    *,
    meeting: dict[str, str] | None = None,
    present: list[str] | None = None,
    rows: list[dict[str, str]] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Response:
    reader(who)
    token = await who.token()
    page = await alliances.alliance_page(who.rt, token, alliance_id)
    if not runs(who, page.alliance):
        raise HTTPException(404)
    ref = await reference(who.rt, token)
    members = [str(u) for u in page.alliance["current_member_ids"]]
    return render(
        request,
        "alliances/hold.html",
        status=status,
        p=page,
        a=page.alliance,
        chair=str(page.alliance["next_chair_unit_id"] or ""),
        members=members,
        meeting=meeting
        or {**dict.fromkeys(MEETING_FIELDS, ""), "held_on": who.rt.today().isoformat()},
        present=set(present if present is not None else members),
        rows=rows or [_blank() for _ in range(BLANK_ROWS)],
        vocab=vocabularies(ref, i18n.current_locale.get()),
        errors=errors or FormErrors(),
    )


@router.get("/alliances/{alliance_id}/meetings/new")
async def new(request: Request, who: ActingDep, alliance_id: str) -> Response:
    return await _form(request, who, alliance_id)


@router.post("/alliances/{alliance_id}/meetings")
async def hold(request: Request, who: ActingDep, alliance_id: str) -> Response:
    reader(who)
    raw = await request.form()
    meeting, present, rows = _read(raw)
    if "add" in raw:  # one more decision row; nothing is sent
        return await _form(
            request, who, alliance_id, meeting=meeting, present=present, rows=[*rows, _blank()]
        )
    body, errors, sent = _body(meeting, present, rows, str(raw.get("chair_unit_id", "")))
    if not errors:
        try:
            held = await alliances.hold(
                who.rt, await who.token(), alliance_id, body, str(raw.get("submission_id", ""))
            )
        except ServiceRefusal as refused:
            if refused.status != 422:
                raise
            errors = _refusal_errors(refused, sent)
        else:
            who.session.say("info", i18n.gettext("The meeting and its decisions are recorded."))
            return redirect(f"/meetings/{held['meeting_id']}")
    return await _form(
        request, who, alliance_id, meeting=meeting, present=present, rows=rows,
        errors=errors, status=422,
    )  # fmt: skip


@router.get("/meetings/{meeting_id}")
async def show(request: Request, who: ActingDep, meeting_id: str) -> Response:
    reader(who)
    token = await who.token()
    page = await alliances.meeting_page(who.rt, token, meeting_id)
    ref = await reference(who.rt, token)
    return render(
        request,
        "alliances/meeting.html",
        p=page,
        m=page.meeting,
        a=page.alliance,
        vocab=vocabularies(ref, i18n.current_locale.get()),
    )
