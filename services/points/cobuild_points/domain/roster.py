"""Member rosters: validating one member's details, and the rows of an import file into
drafts with a per-row error report (pure: rows in, drafts and errors out; the file itself is
read by the HTTP route, with cobuild_kit.sheets)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from uuid import UUID

from cobuild_kit.rows import NumberedRow, RowError

PHONE_RE = re.compile(r"^1\d{10}$")  # a mainland mobile number
COLUMNS = ("name", "phone", "unit_id", "community_id", "grid_id")
# Columns an admin's roster may not carry: the member alone opts in to their full name.
MEMBERS_ONLY = ("show_full_name",)
MEMBERS_ONLY_MESSAGE = (
    "only the member may opt in to the full name on the honour roll "
    "(PATCH /members/{member_id}/preferences with their own token)"
)
REQUIRED = ("name", "phone", "unit_id", "community_id")
MAX_ROWS = 10_000

# A phone already registered (API description, "Phones already registered"): to a member the
# registering admin looks after, it is named as such; to anyone else, one answer whatever
# the member's unit, community or status, and it never says whose the phone is.
PHONE_KNOWN = "is already registered to a member of your unit or community"
PHONE_ELSEWHERE = (
    "cannot be registered by you; if it is the member's own, they can ask the community they serve"
)


@dataclass(frozen=True)
class MemberDraft:
    name: str
    phone: str
    unit_id: UUID
    community_id: UUID  # residence community
    grid_id: UUID | None = None
    # No `show_full_name`: a registration starts masked; only the member opts in
    # (PATCH /members/{member_id}/preferences with their own token).


def normalise_phone(phone: str) -> str:
    return re.sub(r"[\s-]", "", phone.strip()).removeprefix("+86")


def check_name(name: str) -> str | None:
    name = name.strip()
    if not name:
        return "is required"
    if len(name) > 50:
        return "is longer than 50 characters"
    return None


def check_phone(phone: str) -> str | None:
    return None if PHONE_RE.match(phone) else "must be an 11-digit mobile number starting with 1"


def _uuid(value: str) -> UUID:
    return UUID(value.strip())


def draft_from_row(index: int, row: Mapping[str, str]) -> tuple[MemberDraft | None, list[RowError]]:
    errors: list[RowError] = []
    for col in REQUIRED:
        if not (row.get(col) or "").strip():
            errors.append(RowError(index, col, "is required"))
    if errors:
        return None, errors
    name = row["name"].strip()
    phone = normalise_phone(row["phone"])
    if problem := check_name(name):
        errors.append(RowError(index, "name", problem))
    if problem := check_phone(phone):
        errors.append(RowError(index, "phone", problem))
    ids: dict[str, UUID | None] = {}
    for col in ("unit_id", "community_id", "grid_id"):
        raw = (row.get(col) or "").strip()
        try:
            ids[col] = _uuid(raw) if raw else None
        except ValueError:
            errors.append(RowError(index, col, "is not a UUID"))
    if errors:
        return None, errors
    unit_id, community_id = ids["unit_id"], ids["community_id"]
    assert unit_id is not None and community_id is not None
    return MemberDraft(name, phone, unit_id, community_id, ids["grid_id"]), []


def parse_roster(
    rows: Iterable[NumberedRow],
) -> tuple[list[tuple[int, MemberDraft]], list[RowError]]:
    """Every row checked, each draft with its row number; a phone repeated inside the file is
    an error too."""
    drafts: list[tuple[int, MemberDraft]] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for index, row in rows:
        draft, row_errors = draft_from_row(index, row)
        errors.extend(row_errors)
        errors.extend(
            RowError(index, col, MEMBERS_ONLY_MESSAGE)
            for col in MEMBERS_ONLY
            if (row.get(col) or "").strip()
        )
        if draft is None:
            continue
        if draft.phone in seen:
            errors.append(RowError(index, "phone", f"repeats row {seen[draft.phone]}"))
            continue
        seen[draft.phone] = index
        drafts.append((index, draft))
    return drafts, errors
