"""Importing the needs list from Excel (需求清单导入): the template to download, the upload,
the job's progress (the page polls it with htmx), every bad row on screen and as a file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, HTTPException, Request, UploadFile
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.http.list_import import STOP_POLLING, download, job_of, uploaded
from cobuild_console.http.web import ActingDep, redirect, render
from cobuild_console.usecases import needs, needs_import

router = APIRouter()


@router.get("/needs/import")
async def form(request: Request, who: ActingDep) -> Response:
    return render(request, "needs/import.html", job=None, message=needs_import.message)


@router.get("/needs/import/template.xlsx")
async def template(who: ActingDep) -> Response:
    ref = await needs.reference(who.rt, await who.token())
    return download(
        needs_import.template(ref), "needs.xlsx", i18n.gettext("needs-list-template") + ".xlsx"
    )


@router.post("/needs/import")
async def upload(
    request: Request, who: ActingDep, file: Annotated[UploadFile | None, File()] = None
) -> Response:
    data, problem = await uploaded(file)
    if problem:
        return render(
            request, "needs/import.html", status=422, job=None, upload_error=problem,
            message=needs_import.message,
        )  # fmt: skip
    job = needs_import.jobs.new(
        who.party_id, who.session.subject or "", (file.filename if file else "") or ""
    )
    needs_import.start(who.rt, await who.token(), job, data)
    return redirect(f"/needs/import/{job.job_id}")


@router.get("/needs/import/{job_id}")
async def progress(request: Request, job_id: str, who: ActingDep) -> Response:
    job = job_of(needs_import.needs, who, job_id)
    if request.headers.get("hx-request") != "true":
        return render(request, "needs/import.html", job=job, message=needs_import.message)
    # htmx polls while the job runs; 286 tells it to swap this answer in and stop.
    status = STOP_POLLING if job.finished else 200
    return render(
        request, "needs/import_job.html", status=status, job=job, message=needs_import.message
    )


@router.get("/needs/import/{job_id}/errors.xlsx")
async def errors(job_id: str, who: ActingDep) -> Response:
    job = job_of(needs_import.needs, who, job_id)
    if not job.finished or not (job.errors or job.problem):
        raise HTTPException(404)
    return download(
        needs_import.error_report(job), "needs.xlsx", i18n.gettext("needs-import-errors") + ".xlsx"
    )
