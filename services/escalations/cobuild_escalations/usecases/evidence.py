"""Evidence: photos of the matter (the raiser, when whistling) and of its resolution (the
receiver), uploaded; listed and downloaded by the whistle's readers.

An upload is refused to strangers before any byte is spooled, spooled and checked outside the
transaction, then recorded and moved into place under the lock; if that transaction fails the
bytes are dropped unless another row uses them, so a failed write leaves no orphan (the
commitments service's mechanism).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import BinaryIO
from uuid import UUID, uuid4

from cobuild_kit.auth import Actor
from cobuild_kit.errors import Conflict, Forbidden, Invalid, NotFound

from cobuild_escalations.domain.evidence import (
    ALLOWED_TYPES,
    Evidence,
    safe_filename,
    sniff_content_type,
)
from cobuild_escalations.domain.whistle import State, Whistle
from cobuild_escalations.settings import EscalationsRuntime
from cobuild_escalations.store import evidence as evidence_rows
from cobuild_escalations.store.evidence_files import EvidenceFiles, Spooled, TooLarge
from cobuild_escalations.usecases.access import as_reader, is_raiser, is_receiver
from cobuild_escalations.usecases.lookup import existing, locked

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


def _uploader_party(actor: Actor, w: Whistle) -> UUID:
    """The raiser adds photos of the matter, the receiver of its resolution; nobody adds to a
    closed whistle."""
    if not (is_raiser(actor, w) or is_receiver(actor, w)):
        as_reader(actor, w, "add evidence")  # a stranger gets the 404
        raise Forbidden(f"{actor.role.value} may not add evidence: only the raiser or receiver")
    if w.state is State.CLOSED:
        raise Conflict("cannot add evidence: the whistle is closed", field="state")
    return actor.party_id


async def submit(
    rt: EscalationsRuntime, actor: Actor, whistle_id: UUID, source: BinaryIO,
    filename: str | None,
) -> Evidence:  # fmt: skip
    files = EvidenceFiles(rt.settings.data_dir)
    async with locked(rt, whistle_id) as (_, w):  # refuse strangers before spooling
        _uploader_party(actor, w)
    spooled = await _spool(files, source, rt.settings.evidence_max_bytes)
    created = False
    try:
        async with locked(rt, whistle_id) as (uow, w):
            party = _uploader_party(actor, w)  # again, under the lock
            evidence = Evidence(
                evidence_id=uuid4(),
                whistle_id=whistle_id,
                party_id=party,
                sha256=spooled.sha256,
                content_type=sniff_content_type(spooled.head) or "application/octet-stream",
                size_bytes=spooled.size,
                filename=safe_filename(filename),
                uploaded_by=actor.subject,
                uploaded_at=rt.clock.now(),
            )
            await evidence_rows.insert_evidence(uow.conn, evidence)
            created = await asyncio.to_thread(files.place, spooled)
    except BaseException:
        files.discard(spooled.path)
        if created:
            async with rt.pool.acquire() as conn:
                if not await evidence_rows.sha_in_use(conn, spooled.sha256):
                    files.discard(files.path_of(spooled.sha256))
        raise
    return evidence


async def evidence_of(
    rt: EscalationsRuntime, actor: Actor, whistle_id: UUID, limit: int, offset: int
) -> tuple[list[Evidence], int]:
    async with rt.pool.acquire() as conn:
        w = await existing(conn, whistle_id)
        as_reader(actor, w, "see this whistle's evidence")
        return await evidence_rows.evidence_of(conn, whistle_id, limit=limit, offset=offset)


async def stored_file(
    rt: EscalationsRuntime, actor: Actor, whistle_id: UUID, evidence_id: UUID
) -> tuple[Evidence, Path]:
    """The evidence and where its bytes lie, for a reader of the whistle."""
    async with rt.pool.acquire() as conn:
        w = await existing(conn, whistle_id)
        as_reader(actor, w, "download this evidence")
        evidence = await evidence_rows.evidence_by_id(conn, evidence_id)
    if evidence is None or evidence.whistle_id != whistle_id:
        raise NotFound(f"no evidence {evidence_id} on {whistle_id}", field="path.evidence_id")
    path = EvidenceFiles(rt.settings.data_dir).path_of(evidence.sha256)
    if not path.is_file():
        raise NotFound("the evidence file is missing from storage", field="path.evidence_id")
    return evidence, path
