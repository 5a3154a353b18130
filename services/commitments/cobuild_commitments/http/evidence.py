"""Evidence: upload (obligor), list and download (the two parties and their supervisors)."""

from __future__ import annotations

import asyncio
from typing import Annotated
from uuid import UUID, uuid4

from cobuild_contracts import EvidenceSubmitted
from cobuild_kit.errors import Invalid, NotFound
from cobuild_kit.service import ActorDep, RuntimeDep
from fastapi import APIRouter, File, UploadFile
from fastapi.responses import FileResponse

from cobuild_commitments import store
from cobuild_commitments.domain.evidence import ALLOWED_TYPES, safe_filename, sniff_content_type
from cobuild_commitments.evidence_files import EvidenceFiles, Spooled, TooLarge
from cobuild_commitments.http.access import as_obligor, as_reader, domain_rules
from cobuild_commitments.http.commands import locked
from cobuild_commitments.http.models import EvidenceOut
from cobuild_commitments.workers import settings_of

router = APIRouter(prefix="/commitments", tags=["evidence"])
_FIELD = "body.file"


def _out(row: store.EvidenceRow) -> EvidenceOut:
    return EvidenceOut(**row.__dict__)


async def _spool(files: EvidenceFiles, upload: UploadFile, max_bytes: int) -> Spooled:
    try:
        spooled = await asyncio.to_thread(files.spool, upload.file, max_bytes)
    except TooLarge as exc:
        raise Invalid(f"file: {exc}", field=_FIELD) from exc
    if spooled.size == 0:
        files.discard(spooled.path)
        raise Invalid("file: empty", field=_FIELD)
    if sniff_content_type(spooled.head) is None:
        files.discard(spooled.path)
        kinds = ", ".join(sorted(ALLOWED_TYPES))
        raise Invalid(f"file: not an accepted type (accepted: {kinds})", field=_FIELD)
    return spooled


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
    settings = settings_of(rt)
    files = EvidenceFiles(settings.data_dir)
    async with locked(rt, commitment_id) as (uow, c):  # refuse strangers before spooling
        await as_obligor(uow.conn, actor, c, "submit evidence")
        with domain_rules():
            c.check_evidence_allowed()
    spooled = await _spool(files, file, settings.evidence_max_bytes)
    now = rt.clock.now()
    row = store.EvidenceRow(
        evidence_id=uuid4(),
        commitment_id=commitment_id,
        sha256=spooled.sha256,
        content_type=sniff_content_type(spooled.head) or "application/octet-stream",
        size_bytes=spooled.size,
        filename=safe_filename(file.filename),
        uploaded_by=actor.subject,
        uploaded_at=now,
    )
    created = False
    try:
        async with locked(rt, commitment_id) as (uow, c):
            with domain_rules():
                c.check_evidence_allowed()  # again, under the lock
            await store.insert_evidence(uow.conn, row)
            event = EvidenceSubmitted(
                commitment_id=commitment_id,
                evidence_id=row.evidence_id,
                sha256=row.sha256,
                content_type=row.content_type,
                size_bytes=row.size_bytes,
                filename=row.filename,
                submitted_at=now,
            )
            await store.record(uow.conn, uow.emit, event)
            created = await asyncio.to_thread(files.place, spooled)
    except BaseException:
        # No orphan: the row did not commit, so drop the bytes unless another row uses them.
        files.discard(spooled.path)
        if created:
            async with rt.pool.acquire() as conn:
                if not await store.sha_in_use(conn, row.sha256):
                    files.discard(files.path_of(row.sha256))
        raise
    return _out(row)


@router.get("/{commitment_id}/evidence")
async def list_evidence(commitment_id: UUID, actor: ActorDep, rt: RuntimeDep) -> list[EvidenceOut]:
    async with rt.pool.acquire() as conn:
        c = await store.load(conn, commitment_id, lock=False)
        if c is None:
            raise NotFound(f"no commitment {commitment_id}", field="path.commitment_id")
        await as_reader(conn, actor, c, "see this commitment's evidence")
        return [_out(r) for r in await store.evidence_of(conn, commitment_id)]


@router.get(
    "/{commitment_id}/evidence/{evidence_id}",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def download(
    commitment_id: UUID, evidence_id: UUID, actor: ActorDep, rt: RuntimeDep
) -> FileResponse:
    async with rt.pool.acquire() as conn:
        c = await store.load(conn, commitment_id, lock=False)
        row = await store.evidence_by_id(conn, evidence_id)
        if c is None or row is None or row.commitment_id != commitment_id:
            raise NotFound(
                f"no evidence {evidence_id} on {commitment_id}", field="path.evidence_id"
            )
        await as_reader(conn, actor, c, "download this evidence")
    path = EvidenceFiles(settings_of(rt).data_dir).path_of(row.sha256)
    if not path.is_file():
        raise NotFound("the evidence file is missing from storage", field="path.evidence_id")
    return FileResponse(path, media_type=row.content_type, filename=row.filename)
