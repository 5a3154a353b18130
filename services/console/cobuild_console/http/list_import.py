"""What the list imports' pages share (需求清单, 资源清单): the file downloads with Chinese names,
the upload read with its size bound, and a job found for the person who started it."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import HTTPException, UploadFile
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.http.web import Acting
from cobuild_console.usecases.list_import import MAX_BYTES, ImportJob, ListImport

STOP_POLLING = 286  # htmx: swap this answer in and stop polling
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(content: bytes, fallback: str, filename: str) -> Response:
    """An XLSX attachment. RFC 6266: an ASCII fallback and the UTF-8 name (Chinese names)."""
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
    return Response(content, media_type=XLSX, headers={"content-disposition": disposition})


def job_of(imports: ListImport, who: Acting, job_id: str) -> ImportJob:
    """The job, for the person who started it acting for the same party; else 404."""
    job = imports.jobs.find(job_id, who.party_id, who.session.subject or "")
    if job is None:
        raise HTTPException(404)
    return job


async def uploaded(file: UploadFile | None) -> tuple[bytes, str | None]:
    """The file's bytes, or what is wrong with the upload (in the reader's language)."""
    data = await file.read(MAX_BYTES + 1) if file is not None else b""
    if not data:
        return data, i18n.gettext("Choose the file to import.")
    if len(data) > MAX_BYTES:
        return data, i18n.gettext("The file is larger than 5 MB.")
    return data, None
