"""Evidence: upload (obligor), list and download (the two parties and their supervisors)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from cobuild_kit.api import AUTHENTICATED, DEFAULT_PAGE, Limit, Offset, Page, page_of, refusals
from cobuild_kit.service import ActorDep
from fastapi import APIRouter, File, UploadFile
from fastapi.responses import FileResponse

from cobuild_commitments.domain.evidence import EXTENSIONS, Evidence, download_name
from cobuild_commitments.http.models import EvidenceOut
from cobuild_commitments.settings import RuntimeDep
from cobuild_commitments.usecases import evidence

router = APIRouter(prefix="/commitments", tags=["evidence"], responses=AUTHENTICATED)
# A download is one of the accepted types, sniffed from its bytes at upload.
_FILE: dict[str, Any] = {"schema": {"type": "string", "format": "binary"}}


def _out(e: Evidence) -> EvidenceOut:
    return EvidenceOut(**e.__dict__)


@router.post("/{commitment_id}/evidence", status_code=201, responses=refusals(404, 409, 413))
async def upload(
    commitment_id: UUID,
    file: Annotated[UploadFile, File(description="an image (png, jpeg, gif, webp) or a PDF")],
    actor: ActorDep,
    rt: RuntimeDep,
) -> EvidenceOut:
    """The obligor attaches a file (claimed, in progress or awaiting confirmation). Its type
    is read from its first bytes; a file of another type, empty or over the size limit is a
    422 naming `body.file`, a request over the body limit a 413."""
    return _out(await evidence.submit(rt, actor, commitment_id, file.file, file.filename))


@router.get("/{commitment_id}/evidence", responses=refusals(404))
async def list_evidence(
    commitment_id: UUID,
    actor: ActorDep,
    rt: RuntimeDep,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> Page[EvidenceOut]:
    """The commitment's files, oldest first."""
    found, total = await evidence.evidence_of(rt, actor, commitment_id, limit, offset)
    return page_of([_out(e) for e in found], limit=limit, offset=offset, total=total)


@router.get(
    "/{commitment_id}/evidence/{evidence_id}",
    response_class=FileResponse,
    responses={200: {"content": {t: _FILE for t in EXTENSIONS}}, **refusals(404)},
)
async def download(
    commitment_id: UUID, evidence_id: UUID, actor: ActorDep, rt: RuntimeDep
) -> FileResponse:
    """The file's bytes, as an attachment typed by what they are. The name's extension follows
    the stored type, not the uploaded name (a PNG uploaded as `x.html` downloads as `x.png`),
    and `X-Content-Type-Options: nosniff` keeps a browser from guessing another type."""
    e, path = await evidence.stored_file(rt, actor, commitment_id, evidence_id)
    return FileResponse(
        path,
        media_type=e.content_type,
        filename=download_name(e.filename, e.content_type),
        headers={"X-Content-Type-Options": "nosniff"},
    )
