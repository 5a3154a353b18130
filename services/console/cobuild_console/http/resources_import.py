"""Importing the unit's resources list from Excel (资源清单导入), for a unit administrator: the
template to download (pickers for category, kind and the paired communities), the upload, the
job's progress (the page polls it with htmx), every bad row on screen and as a file."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, File, HTTPException, Request, UploadFile
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.http.list_import import STOP_POLLING, download, job_of, uploaded
from cobuild_console.http.tasks import unit_admin
from cobuild_console.http.web import ActingDep, redirect, render
from cobuild_console.usecases import needs, resources_import
from cobuild_console.usecases.list_import import error_report, message

router = APIRouter()
PAGE = "resources/import.html"


@router.get("/resources/import")
async def form(request: Request, who: ActingDep) -> Response:
    unit_admin(who)
    return render(request, PAGE, job=None, message=message)


@router.get("/resources/import/template.xlsx")
async def template(who: ActingDep) -> Response:
    unit_admin(who)
    token = await who.token()
    ref, paired = await asyncio.gather(
        needs.reference(who.rt, token),
        resources_import.paired_communities(who.rt, token, who.party_id),
    )
    return download(
        resources_import.template(ref, paired),
        "resources.xlsx",
        i18n.gettext("resources-list-template") + ".xlsx",
    )


@router.post("/resources/import")
async def upload(
    request: Request, who: ActingDep, file: Annotated[UploadFile | None, File()] = None
) -> Response:
    unit_admin(who)
    data, problem = await uploaded(file)
    if problem:
        return render(request, PAGE, status=422, job=None, upload_error=problem, message=message)
    imports = resources_import.resources
    job = imports.jobs.new(
        who.party_id, who.session.subject or "", (file.filename if file else "") or ""
    )
    imports.start(who.rt, await who.token(), job, data)
    return redirect(f"/resources/import/{job.job_id}")


@router.get("/resources/import/{job_id}")
async def progress(request: Request, job_id: str, who: ActingDep) -> Response:
    unit_admin(who)
    job = job_of(resources_import.resources, who, job_id)
    if request.headers.get("hx-request") != "true":
        return render(request, PAGE, job=job, message=message)
    # htmx polls while the job runs; 286 tells it to swap this answer in and stop.
    status = STOP_POLLING if job.finished else 200
    return render(request, "resources/import_job.html", status=status, job=job, message=message)


@router.get("/resources/import/{job_id}/errors.xlsx")
async def errors(job_id: str, who: ActingDep) -> Response:
    unit_admin(who)
    job = job_of(resources_import.resources, who, job_id)
    if not job.finished or not (job.errors or job.problem):
        raise HTTPException(404)
    return download(
        error_report(job),
        "resources.xlsx",
        i18n.gettext("resources-import-errors") + ".xlsx",
    )
