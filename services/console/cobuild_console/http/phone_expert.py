"""The expert's phone pages (专家评): the commitments assigned to them, what was promised and
done, the evidence (each photo fitted for a phone, the original a tap away), a score for each
criterion of the assignment, and what is still due."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.domain import phone
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.http.phone_member import page
from cobuild_console.http.web import IMAGE_TYPES, Acting, acting, evidence_response, redirect
from cobuild_console.usecases import evidence_photos, phone_public

router = APIRouter()


async def expert(request: Request) -> Acting:
    who = await acting(request)
    if who.role != "expert":
        raise HTTPException(404)
    return who


ExpertDep = Annotated[Acting, Depends(expert)]


async def _assignments(who: Acting) -> list[dict[str, Any]]:
    found = await who.rt.services.every("evaluation", "/expert-assignments", await who.token())
    return [a for a in found if a["subject_kind"] == "commitment"]


async def _summary(who: Acting, commitment_id: str) -> dict[str, Any] | None:
    """The commitment's public part: what was promised and done (None before it is done)."""
    try:
        return await phone_public.public_commitment(who.rt, commitment_id)
    except ServiceRefusal as refused:
        if refused.status == 404:
            return None
        raise


async def _evidence(who: Acting, commitment_id: str) -> list[dict[str, Any]] | None:
    """The commitment's evidence as the expert may see it; None while the commitments service
    has not yet heard of the assignment (a moment after it was made)."""
    try:
        return await who.rt.services.every(
            "commitments", f"/commitments/{commitment_id}/evidence", await who.token()
        )
    except ServiceRefusal as refused:
        if refused.status == 404:
            return None
        raise


def _score_page(
    request: Request,
    assignment: dict[str, Any],
    summary: dict[str, Any] | None,
    evidence: list[dict[str, Any]] | None,
    status: int = 200,
    **context: Any,
) -> Response:
    return page(
        request, "m/expert_score.html", status=status, a=assignment, c=summary,
        evidence=evidence, image_types=IMAGE_TYPES, file_size=phone.file_size, **context,
    )  # fmt: skip


@router.get("/m/expert")
async def assignments(request: Request, who: ExpertDep) -> Response:
    listed = await _assignments(who)
    summaries = await asyncio.gather(*(_summary(who, str(a["subject_id"])) for a in listed))
    rows = list(zip(listed, summaries, strict=True))
    due = [(a, s) for a, s in rows if a["evaluated_at"] is None]
    done = [(a, s) for a, s in rows if a["evaluated_at"] is not None]
    return page(request, "m/expert.html", due=due, done=done)


async def _one(who: Acting, commitment_id: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    found = next(
        (a for a in await _assignments(who) if str(a["subject_id"]) == commitment_id), None
    )
    if found is None:  # not assigned to this expert
        raise HTTPException(404)
    return found, await _summary(who, commitment_id)


@router.get("/m/expert/{commitment_id}")
async def score_page(request: Request, commitment_id: str, who: ExpertDep) -> Response:
    assignment, summary = await _one(who, commitment_id)
    evidence = await _evidence(who, commitment_id)
    return _score_page(request, assignment, summary, evidence, values={}, errors={}, error="")


@router.get("/m/expert/{commitment_id}/evidence/{evidence_id}/photo")
async def photo(commitment_id: str, evidence_id: str, who: ExpertDep) -> Response:
    """An evidence photo fitted into 720×540 for a phone, upright, without its metadata. The
    commitments service decides whether the expert may see it (404 otherwise)."""
    try:
        fitted = await evidence_photos.fitted(who.rt, await who.token(), commitment_id, evidence_id)
    except evidence_photos.NotAPhoto as exc:
        raise HTTPException(404) from exc
    return Response(fitted, media_type="image/jpeg", headers={"x-content-type-options": "nosniff"})


@router.get("/m/expert/{commitment_id}/evidence/{evidence_id}")
async def original(commitment_id: str, evidence_id: str, who: ExpertDep) -> Response:
    """The file as the unit uploaded it (查看原图): an image shown, anything else downloaded."""
    answer = await who.rt.services.request(
        "commitments",
        "GET",
        f"/commitments/{commitment_id}/evidence/{evidence_id}",
        await who.token(),
    )
    return evidence_response(answer)


@router.post("/m/expert/{commitment_id}")
async def score(
    request: Request,
    commitment_id: str,
    who: ExpertDep,
    submission_id: Annotated[str, Form()],
) -> Response:
    assignment, summary = await _one(who, commitment_id)
    form = await request.form()
    values = {c: str(form.get(f"c-{i}", "")).strip() for i, c in enumerate(assignment["criteria"])}
    comment = str(form.get("comment", "")).strip()[:500]
    errors: dict[str, str] = {}
    scores: dict[str, int] = {}
    for criterion, text in values.items():
        if not text.isdigit() or not 0 <= int(text) <= 100:
            errors[criterion] = i18n.gettext("Enter a whole number from 0 to 100.")
        else:
            scores[criterion] = int(text)
    error = ""
    if not errors:
        try:
            await who.rt.services.post(
                "evaluation",
                "/expert-evaluations",
                await who.token(),
                {"subject_kind": "commitment", "subject_id": commitment_id,
                 "criteria": scores, "comment": comment},
                idempotency_key=submission_id,
            )  # fmt: skip
        except ServiceRefusal as refused:
            if refused.status not in (403, 404, 409, 422):
                raise
            error = (
                i18n.gettext("You have already scored this commitment.")
                if refused.status == 409
                else i18n.gettext("The score was not accepted; check it and try again.")
            )
        else:
            who.session.say(
                "info", i18n.gettext("Your score for “%(title)s” has been submitted.")
                % {"title": summary["title"] if summary else commitment_id},
            )  # fmt: skip
            return redirect("/m/expert")
    evidence = await _evidence(who, commitment_id)
    return _score_page(
        request, assignment, summary, evidence, status=422 if errors else 409,
        values=values, errors=errors, error=error, comment=comment,
    )  # fmt: skip
