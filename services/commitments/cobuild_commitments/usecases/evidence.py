"""Evidence: upload (obligor), list and download (the two parties and their supervisors, and
an expert assigned to the commitment).

An upload is refused to strangers before any byte is spooled, spooled and checked outside the
transaction, then recorded and moved into place under the lock; if that transaction fails the
bytes are dropped unless another row uses them, so a failed write leaves no orphan.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import BinaryIO
from uuid import UUID, uuid4

from cobuild_kit.auth import Actor
from cobuild_kit.errors import Invalid, NotFound

from cobuild_commitments.domain import events
from cobuild_commitments.domain.evidence import (
    ALLOWED_TYPES,
    Evidence,
    safe_filename,
    sniff_content_type,
)
from cobuild_commitments.settings import CommitmentsRuntime
from cobuild_commitments.store import evidence as evidence_rows
from cobuild_commitments.store import history
from cobuild_commitments.store.evidence_files import EvidenceFiles, Spooled, TooLarge
from cobuild_commitments.usecases.access import as_obligor, as_reader, domain_rules
from cobuild_commitments.usecases.lookup import existing, locked

_FIELD = "body.file"


async def _spool(files: EvidenceFiles, source: BinaryIO, max_bytes: int) -> Spooled:
    try:
        spooled = await asyncio.to_thread(files.spool, source, max_bytes)
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


async def submit(
    rt: CommitmentsRuntime,
    actor: Actor,
    commitment_id: UUID,
    source: BinaryIO,
    filename: str | None,
) -> Evidence:
    settings = rt.settings
    files = EvidenceFiles(settings.data_dir)
    async with locked(rt, commitment_id) as (uow, c):  # refuse strangers before spooling
        await as_obligor(uow.conn, actor, c, "submit evidence")
        with domain_rules():
            c.check_evidence_allowed()
    spooled = await _spool(files, source, settings.evidence_max_bytes)
    evidence = Evidence(
        evidence_id=uuid4(),
        commitment_id=commitment_id,
        sha256=spooled.sha256,
        content_type=sniff_content_type(spooled.head) or "application/octet-stream",
        size_bytes=spooled.size,
        filename=safe_filename(filename),
        uploaded_by=actor.subject,
        uploaded_at=rt.clock.now(),
    )
    created = False
    try:
        async with locked(rt, commitment_id) as (uow, c):
            with domain_rules():
                c.check_evidence_allowed()  # again, under the lock
            await evidence_rows.insert_evidence(uow.conn, evidence)
            await history.record(uow.conn, uow.emit, events.evidence_submitted(evidence))
            created = await asyncio.to_thread(files.place, spooled)
    except BaseException:
        # No orphan: the row did not commit, so drop the bytes unless another row uses them.
        files.discard(spooled.path)
        if created:
            async with rt.pool.acquire() as conn:
                if not await evidence_rows.sha_in_use(conn, evidence.sha256):
                    files.discard(files.path_of(evidence.sha256))
        raise
    return evidence


async def evidence_of(
    rt: CommitmentsRuntime, actor: Actor, commitment_id: UUID, limit: int, offset: int
) -> tuple[list[Evidence], int]:
    """A page of the commitment's evidence, oldest first, and how many files it has."""
    async with rt.pool.acquire() as conn:
        c = await existing(conn, commitment_id)
        await as_reader(conn, actor, c, "see this commitment's evidence", experts_may=True)
        return await evidence_rows.evidence_of(conn, commitment_id, limit=limit, offset=offset)


async def stored_file(
    rt: CommitmentsRuntime, actor: Actor, commitment_id: UUID, evidence_id: UUID
) -> tuple[Evidence, Path]:
    """The evidence and where its bytes lie, for a reader of the commitment. The commitment is
    looked at first, so one the actor may not read answers exactly as one that does not exist."""
    async with rt.pool.acquire() as conn:
        c = await existing(conn, commitment_id)
        await as_reader(conn, actor, c, "download this evidence", experts_may=True)
        evidence = await evidence_rows.evidence_by_id(conn, evidence_id)
    if evidence is None or evidence.commitment_id != commitment_id:
        raise NotFound(f"no evidence {evidence_id} on {commitment_id}", field="path.evidence_id")
    path = EvidenceFiles(rt.settings.data_dir).path_of(evidence.sha256)
    if not path.is_file():
        raise NotFound("the evidence file is missing from storage", field="path.evidence_id")
    return evidence, path
