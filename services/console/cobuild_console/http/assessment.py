"""年度考评 in the workbench (issue 35). A district admin previews a year under a policy and
an 优秀 quota, publishes it for 公示, decides the objections (uphold with a corrected input,
or reject; a reason either way) and finalises after the deadline. A unit admin sees the
unit's score and objects to it during 公示."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.domain.assessment import POLICIES, QuotaError, assessed_year, quota_share
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.http.assessment_labels import INPUTS, labels
from cobuild_console.http.forms import FormErrors
from cobuild_console.http.objection import objection_files
from cobuild_console.http.web import ActingDep, redirect, render
from cobuild_console.usecases import assessment
from cobuild_console.usecases.parties import names

router = APIRouter()
_RUN_FIELDS = frozenset({"policy_version", "quota", "year"})
_DECISION_FIELDS = frozenset({"reason", "value", "input"})


def _year(raw: str | None, who: ActingDep) -> int:
    if raw:
        try:
            year = int(raw)
        except ValueError:
            raise HTTPException(404) from None
        if 2000 <= year <= 2100:
            return year
        raise HTTPException(404)
    return assessed_year(who.rt.today())


async def _district_page(
    request: Request,
    who: ActingDep,
    year: int,
    *,
    run: dict[str, str] | None = None,
    run_errors: FormErrors | None = None,
    preview: assessment.Preview | None = None,
    decision_errors: dict[str, FormErrors] | None = None,
    decision_form: dict[str, dict[str, str]] | None = None,
    code: int = 200,
) -> Response:
    token = await who.token()
    head = await assessment.current(who.rt, token, who.party_id, year)
    listed = await assessment.objections(who.rt, token, who.party_id, year) if head else None
    ids = {u["subject_id"] for u in (head or {}).get("items", [])}
    ids |= {o["subject_id"] for o in (listed or {}).get("objections", [])}
    return render(
        request,
        "assessment/district.html",
        status=code,
        year=year,
        head=head,
        listed=listed,
        unit_names=await names.of(who.rt, token, ids),
        run=run or {"policy_version": POLICIES[0], "quota": "", "year": str(year)},
        run_errors=run_errors or FormErrors(),
        policies=POLICIES,
        preview=preview,
        decision_errors=decision_errors or {},
        decision_form=decision_form or {},
        **labels(),
    )


async def _unit_page(
    request: Request,
    who: ActingDep,
    year: int,
    *,
    form: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    code: int = 200,
) -> Response:
    mine = await assessment.own(who.rt, await who.token(), year)
    return render(
        request,
        "assessment/unit.html",
        status=code,
        year=year,
        mine=mine,
        form=form or {"reason": ""},
        errors=errors or FormErrors(),
        **labels(),
    )


@router.get("/assessment")
async def show(request: Request, who: ActingDep) -> Response:
    q = request.query_params
    year = _year(q.get("year"), who)
    if who.role == "unit_admin":
        return await _unit_page(request, who, year)
    if who.role != "district_admin":
        raise HTTPException(404)
    if "preview" not in q:
        return await _district_page(request, who, year)
    run = {
        "policy_version": q.get("policy_version", POLICIES[0]).strip(),
        "quota": q.get("quota", "").strip(),
        "year": str(year),
    }
    errors = FormErrors()
    quota: Decimal | None = None
    try:
        quota = quota_share(run["quota"])
    except QuotaError:
        errors.add(
            "quota", i18n.gettext("Enter a share between 0 and 100 (percent), or leave it empty.")
        )
    found = None
    if not errors:
        try:
            found = await assessment.preview(
                who.rt, await who.token(), who.party_id, year, run["policy_version"], quota
            )
        except ServiceRefusal as refused:
            if refused.status != 422:
                raise
            errors = FormErrors.of_refusal(refused, {"excellent_quota": "quota"}, _RUN_FIELDS)
    return await _district_page(
        request, who, year, run=run, run_errors=errors, preview=found,
        code=422 if errors else 200,
    )  # fmt: skip


@router.post("/assessment/publish")
async def publish(request: Request, who: ActingDep) -> Response:
    if who.role != "district_admin":
        raise HTTPException(404)
    raw = await request.form()
    year = _year(str(raw.get("year", "")), who)
    policy = str(raw.get("policy_version", POLICIES[0]))
    try:
        quota = quota_share(str(raw.get("quota", "")))
    except QuotaError:
        raise HTTPException(422) from None
    await assessment.publish(
        who.rt, await who.token(), who.party_id, year, policy, quota,
        str(raw.get("submission_id", "")),
    )  # fmt: skip
    who.session.say(
        "info",
        i18n.gettext("The %(year)s assessment is published for objections (公示).")
        % {"year": year},
    )
    return redirect(f"/assessment?year={year}")


async def _decide(request: Request, who: ActingDep, objection_id: str, uphold: bool) -> Response:
    if who.role != "district_admin":
        raise HTTPException(404)
    raw = await request.form()
    year = _year(str(raw.get("year", "")), who)
    form = {k: str(raw.get(k, "")).strip() for k in _DECISION_FIELDS}
    form["kind"] = "uphold" if uphold else "reject"  # which of the two forms shows the errors
    errors = FormErrors()
    if not form["reason"]:
        errors.add("reason", i18n.gettext("Give the reason for the decision."))
    if uphold and not form["value"]:
        errors.add("value", i18n.gettext("Enter the corrected value."))
    key = str(raw.get("submission_id", ""))
    if not errors:
        try:
            if uphold:
                await assessment.uphold(
                    who.rt, await who.token(), objection_id, form["reason"],
                    {form["input"]: form["value"]}, key,
                )  # fmt: skip
            else:
                await assessment.reject(
                    who.rt, await who.token(), objection_id, form["reason"], key
                )
        except ServiceRefusal as refused:
            if refused.status != 422:
                raise
            renamed = {f"corrections.{k}": "value" for kind in INPUTS.values() for k in kind}
            errors = FormErrors.of_refusal(refused, renamed, _DECISION_FIELDS)
    if errors:
        return await _district_page(
            request, who, year, decision_errors={objection_id: errors},
            decision_form={objection_id: form}, code=422,
        )  # fmt: skip
    who.session.say(
        "info",
        i18n.gettext("Objection upheld: the year was scored again with the correction.")
        if uphold
        else i18n.gettext("Objection rejected."),
    )
    return redirect(f"/assessment?year={year}#objections")


@router.post("/assessment/objections/{objection_id}/uphold")
async def uphold(request: Request, objection_id: str, who: ActingDep) -> Response:
    return await _decide(request, who, objection_id, True)


@router.post("/assessment/objections/{objection_id}/reject")
async def reject(request: Request, objection_id: str, who: ActingDep) -> Response:
    return await _decide(request, who, objection_id, False)


@router.post("/assessment/finalise")
async def finalise(request: Request, who: ActingDep) -> Response:
    if who.role != "district_admin":
        raise HTTPException(404)
    raw = await request.form()
    year = _year(str(raw.get("year", "")), who)
    await assessment.finalise(
        who.rt, await who.token(), who.party_id, year, str(raw.get("submission_id", ""))
    )
    who.session.say("info", i18n.gettext("The %(year)s assessment is final.") % {"year": year})
    return redirect(f"/assessment?year={year}")


@router.post("/assessment/objection")
async def unit_objects(request: Request, who: ActingDep) -> Response:
    """A unit admin objects to the unit's score (the unit is the token's party)."""
    if who.role != "unit_admin":
        raise HTTPException(404)
    raw = await request.form()
    year = _year(str(raw.get("year", "")), who)
    reason = str(raw.get("reason", "")).strip()
    errors = FormErrors()
    if not reason:
        errors.add("reason", i18n.gettext("Say why you object."))
    files = await objection_files(raw, errors)
    if not errors:
        try:
            await assessment.file_objection(
                who.rt, await who.token(), year, reason, files, str(raw.get("submission_id", ""))
            )
        except ServiceRefusal as refused:
            if refused.status != 422:
                raise
            errors = FormErrors.of_refusal(refused, {}, frozenset({"reason", "files"}))
    if errors:
        return await _unit_page(
            request, who, year, form={"reason": reason}, errors=errors, code=422
        )
    who.session.say("info", i18n.gettext("Your objection was sent to the district."))
    return redirect(f"/assessment?year={year}")
