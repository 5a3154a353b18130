"""Evidence: what an uploaded file is, which files are accepted and how their names are made
safe. The commitments service's rules, word for word (services share no code but the kit and
the contracts; a third user would move this into the kit)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

# Images and PDF only; the type is read from the file's first bytes, not trusted from the client.
_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"%PDF-", 0, "application/pdf"),
)
# Each accepted type's extension: a download is named by what its bytes are.
EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
}
ALLOWED_TYPES = frozenset(EXTENSIONS)
SNIFF_BYTES = 16
_UNSAFE = re.compile(r"[^\w.\- ()\[\]]+")


@dataclass(frozen=True)
class Evidence:
    """One uploaded file of a whistle (a photo of the matter, or of its resolution); its bytes are stored once per `sha256`."""

    evidence_id: UUID
    whistle_id: UUID
    party_id: UUID  # the party the uploader acted for (the raiser, or the receiver)
    sha256: str
    content_type: str
    size_bytes: int
    filename: str
    uploaded_by: str
    uploaded_at: datetime


def sniff_content_type(head: bytes) -> str | None:
    """The accepted type whose signature `head` starts with, or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    for magic, offset, content_type in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return content_type
    return None


def safe_filename(name: str | None) -> str:
    """A display name with no path in it: 'a/../../etc/passwd' becomes 'passwd'."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = _UNSAFE.sub("_", base).strip(" .")
    return base[:255] or "evidence"


def download_name(filename: str, content_type: str) -> str:
    """The name a download is served under: the stored (already safe) name's stem with the
    extension of the stored content type. The uploaded name's own extension is dropped, so a
    PNG uploaded as `invoice.html` downloads as `invoice.png`, and a browser or a desktop
    that picks a handler by extension opens what the bytes are."""
    stem = safe_filename(filename)
    dot = stem.rfind(".")
    if dot > 0:
        stem = stem[:dot]
    return f"{stem[:200]}{EXTENSIONS.get(content_type, '.bin')}"
