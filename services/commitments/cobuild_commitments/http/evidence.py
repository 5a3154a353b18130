"""Evidence: upload (obligor), list and download (the two parties and their supervisors)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from cobuild_kit.service import ActorDep, RuntimeDep
from fastapi import APIRouter, File, UploadFile
from fastapi.responses import FileResponse

from cobuild_commitments.domain.evidence import Evidence
from cobuild_commitments.http.models import EvidenceOut
from cobuild_commitments.usecases import evidence

router = APIRouter(prefix="/commitments", tags=["evidence"])


def _out(e: Evidence) -> EvidenceOut:
    return EvidenceOut(**e.__dict__)


@router.post(
    "/{commitment_id}/evidence",
    status_code=201,
    responses={409: {"description": "illegal in the current state"}},
)
async def upload(
    commitment_id: UUID,
    file: Annotated[UploadFile, File(description="an image (png, jpeg, gif, webp) or a PDF")],
    actor: ActorDep,
    rt: RuntimeDep,
) -> EvidenceOut:
    return _out(await evidence.submit(rt, actor, commitment_id, file.file, file.filename))


@router.get("/{commitment_id}/evidence")
async def list_evidence(commitment_id: UUID, actor: ActorDep, rt: RuntimeDep) -> list[EvidenceOut]:
    return [_out(e) for e in await evidence.evidence_of(rt, actor, commitment_id)]


@router.get(
    "/{commitment_id}/evidence/{evidence_id}",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def download(
    commitment_id: UUID, evidence_id: UUID, actor: ActorDep, rt: RuntimeDep
) -> FileResponse:
    e, path = await evidence.stored_file(rt, actor, commitment_id, evidence_id)
    return FileResponse(path, media_type=e.content_type, filename=e.filename)
