"""Evidence: photos of the matter and of its resolution, uploaded by the raiser or the
receiver, listed and downloaded by the whistle's readers."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from cobuild_kit.api import AUTHENTICATED, DEFAULT_PAGE, Limit, Offset, Page, page_of, refusals
from cobuild_kit.service import ActorDep
from fastapi import APIRouter, File, UploadFile
from fastapi.responses import FileResponse

from cobuild_escalations.domain.evidence import EXTENSIONS, Evidence, download_name
from cobuild_escalations.http.models import EvidenceOut
from cobuild_escalations.settings import RuntimeDep
from cobuild_escalations.usecases import evidence

router = APIRouter(prefix="/whistles", tags=["evidence"], responses=AUTHENTICATED)
_FILE: dict[str, Any] = {"schema": {"type": "string", "format": "binary"}}


def _out(e: Evidence) -> EvidenceOut:
    return EvidenceOut(**e.__dict__)


@router.post("/{whistle_id}/evidence", status_code=201, responses=refusals(403, 404, 409, 413))
async def upload(
    whistle_id: UUID,
    file: Annotated[UploadFile, File(description="an image (png, jpeg, gif, webp) or a PDF")],
    actor: ActorDep,
    rt: RuntimeDep,
) -> EvidenceOut:
    """The raiser (photos of the matter) or the receiver (of its resolution) attaches a file
    to an open whistle. Its type is read from its first bytes; another type, an empty file or
    one over the size limit is a 422 naming `body.file`."""
    return _out(await evidence.submit(rt, actor, whistle_id, file.file, file.filename))


@router.get("/{whistle_id}/evidence", responses=refusals(404))
async def list_evidence(
    whistle_id: UUID,
    actor: ActorDep,
    rt: RuntimeDep,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> Page[EvidenceOut]:
    found, total = await evidence.evidence_of(rt, actor, whistle_id, limit, offset)
    return page_of([_out(e) for e in found], limit=limit, offset=offset, total=total)


@router.get(
    "/{whistle_id}/evidence/{evidence_id}",
    response_class=FileResponse,
    responses={200: {"content": {t: _FILE for t in EXTENSIONS}}, **refusals(404)},
)
async def download(
    whistle_id: UUID, evidence_id: UUID, actor: ActorDep, rt: RuntimeDep
) -> FileResponse:
    """The file's bytes, typed by what they are (`X-Content-Type-Options: nosniff`)."""
    e, path = await evidence.stored_file(rt, actor, whistle_id, evidence_id)
    return FileResponse(
        path,
        media_type=e.content_type,
        filename=download_name(e.filename, e.content_type),
        headers={"X-Content-Type-Options": "nosniff"},
    )
