"""Evidence bytes on disk, content-addressed: <data_dir>/evidence/<sha256[:2]>/<sha256>.

An upload is first spooled to a temporary file (hashed and size-checked on the way), then moved
into place inside the database transaction; if that transaction fails the file is removed, so a
failed write leaves no orphan.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cobuild_escalations.domain.evidence import SNIFF_BYTES

_CHUNK = 256 * 1024


class TooLarge(Exception):
    pass


@dataclass(frozen=True)
class Spooled:
    path: Path
    sha256: str
    size: int
    head: bytes


class EvidenceFiles:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "evidence"
        self._tmp = self.root / "tmp"

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def spool(self, source: BinaryIO, max_bytes: int) -> Spooled:
        """Copy `source` to a temporary file, hashing it; TooLarge past `max_bytes`."""
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

    def place(self, spooled: Spooled) -> bool:
        """Move the spooled file into its content address; True when this created it."""
        final = self.path_of(spooled.sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():  # same content already stored: keep one copy
            spooled.path.unlink(missing_ok=True)
            return False
        os.replace(spooled.path, final)
        return True

    def discard(self, path: Path) -> None:
        path.unlink(missing_ok=True)
