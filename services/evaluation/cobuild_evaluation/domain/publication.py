"""The 公示 period's rules (pure): who may object to which score, the corrections an upheld
objection may make, and when a publication may become final."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from cobuild_contracts.enums import Role

# Which subject an actor objects for: a member for their own score, a unit's admin for the
# unit's (both named by the token's party).
OBJECTOR_KINDS = {Role.MEMBER: "member", Role.UNIT_ADMIN: "unit"}
MAX_FILES = 5
MAX_REASON = 1000

# The inputs an upheld objection may correct, with their ranges (as the run reads them).
CORRECTABLE: dict[str, dict[str, tuple[Decimal, Decimal]]] = {
    "member": {
        "points": (Decimal(0), Decimal(100_000)),
        "community_rating": (Decimal(0), Decimal(100)),
    },
    "unit": {
        "fulfilment_rate": (Decimal(0), Decimal(1)),
        "on_time_rate": (Decimal(0), Decimal(1)),
        "resident_mean": (Decimal(1), Decimal(5)),
        "expert_mean": (Decimal(0), Decimal(100)),
    },
}


class CorrectionError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def corrections(kind: str, raw: dict[str, Any]) -> dict[str, Decimal]:
    """The corrected input values of an upheld objection, checked: at least one, each a
    known input of the subject's kind, within its range."""
    allowed = CORRECTABLE[kind]
    if not raw:
        raise CorrectionError(
            f"name at least one corrected input: {', '.join(allowed)}", "body.corrections"
        )
    out: dict[str, Decimal] = {}
    for name, value in raw.items():
        field = f"body.corrections.{name}"
        if name not in allowed:
            raise CorrectionError(
                f"{name} is not a correctable input of a {kind}: {', '.join(allowed)}", field
            )
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            raise CorrectionError(f"{name}: not a number: {value!r}", field) from None
        low, high = allowed[name]
        if not number.is_finite() or not low <= number <= high:
            raise CorrectionError(f"{name} must be between {low} and {high}", field)
        out[name] = number
    return out


@dataclass(frozen=True)
class Window:
    """Until when a subject may object: the publication's deadline, or its own later one
    (its grade changed in a re-run)."""

    deadline: datetime

    def open_at(self, now: datetime) -> bool:
        return now <= self.deadline


def period_end(deadline: datetime, windows: list[datetime]) -> datetime:
    """The last instant anyone may still object."""
    return max([deadline, *windows])


def why_not_final(state: str, now: datetime, end: datetime, open_objections: int) -> str | None:
    """None when the publication may become final, or why not."""
    if state == "final":
        return "the assessment is already final"
    if now <= end:
        return f"the objection period runs until {end.isoformat()}"
    if open_objections:
        return f"{open_objections} objection(s) still open: uphold or reject them first"
    return None


# --- attachments: images and PDF only, typed by their first bytes (as evidence files) ------

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)
EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
}
_UNSAFE = re.compile(r"[^\w.\- ()\[\]]+")


def sniff_content_type(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    for magic, content_type in _SIGNATURES:
        if head.startswith(magic):
            return content_type
    return None


def safe_filename(name: str | None) -> str:
    """A display name with no path in it, its extension that of the stored type."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    return _UNSAFE.sub("_", base).strip(" .")[:200] or "attachment"


def download_name(filename: str, content_type: str) -> str:
    stem = filename.rsplit(".", 1)[0] if "." in filename.strip(".") else filename
    return f"{stem}{EXTENSIONS.get(content_type, '.bin')}"
