"""Objection attachments on disk, content-addressed: <data_dir>/objections/<sha[:2]>/<sha>
(the commitments service's evidence pattern). Spooled first, hashed and size-checked, then
moved into place inside the database transaction's scope; a failed write removes its file."""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_CHUNK = 256 * 1024
SNIFF_BYTES = 16


class TooLarge(Exception):
    pass


@dataclass(frozen=True)
class Spooled:
    path: Path
    sha256: str
    size: int
    head: bytes


class ObjectionFiles:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "objections"
        self._tmp = self.root / "tmp"

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def spool(self, source: BinaryIO, max_bytes: int) -> Spooled:
        self._tmp.mkdir(parents=True, exist_ok=True)
        tmp = self._tmp / uuid.uuid4().hex
        digest = hashlib.sha256()
        size = 0
        head = b""
        try:
            with tmp.open("wb") as out:
                while chunk := source.read(_CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(f"file over {max_bytes} bytes")
                    if len(head) < SNIFF_BYTES:
                        head = (head + chunk)[:SNIFF_BYTES]
                    digest.update(chunk)
                    out.write(chunk)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return Spooled(tmp, digest.hexdigest(), size, head)

    def place(self, spooled: Spooled) -> None:
        final = self.path_of(spooled.sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():  # the same content is stored once
            spooled.path.unlink(missing_ok=True)
            return
        os.replace(spooled.path, final)

    def discard(self, spooled: Spooled) -> None:
        spooled.path.unlink(missing_ok=True)
