"""What the list sheets (需求清单, 资源清单) share, pure: a sheet's columns with their Chinese
headers, a row's errors, a row read into a bulk item, the choices a coded column accepts, and
the bulk command's per-item refusals read back onto the file's rows and columns.

Re-importing a file changes nothing: each row's entry id is derived from the owner (the
community, the unit) and the row's content, so a row sent again names an entry that already
says the same, and the bulk command answers it as it stands (ARCHITECTURE.md, "Commands in,
facts out")."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cobuild_console.domain.refusals import N_, explain

# Where the service names an item's field: body.items.<index>.<field>
_ITEM_FIELD = re.compile(r"^body\.items\.(\d+)(?:\.(\w+))?")


@dataclass(frozen=True)
class Column:
    field: str  # the bulk item's field
    header: str  # the template's header (Chinese: the file is for community and unit staff)
    required: bool = False
    example: str = ""


@dataclass(frozen=True)
class RowError:
    row: int  # the file's row number (the header is row 1)
    column: str  # a header, or "" for the whole row
    message_id: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class SheetRow:
    row: int
    item: dict[str, Any]  # a bulk item, its own id included


@dataclass
class ParsedSheet:
    rows: list[SheetRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True)
class Choices:
    """Codes accepted in a column, each also by its labels (中文 or English)."""

    codes: Mapping[str, Sequence[str]]  # code → its labels

    def code_of(self, text: str) -> str | None:
        wanted = text.strip().lower()
        for code, labels in self.codes.items():
            if wanted == code.lower() or wanted in (label.lower() for label in labels):
                return code
        return None


@dataclass(frozen=True)
class SheetColumns:
    """A sheet's columns, each recognised by its Chinese header, by the field's own name
    (English files), or by an alias."""

    columns: tuple[Column, ...]
    aliases: Mapping[str, str] = field(default_factory=dict)  # header → field

    @property
    def by_field(self) -> dict[str, Column]:
        return {c.field: c for c in self.columns}

    @property
    def headers(self) -> dict[str, str]:
        known = {c.header: c.field for c in self.columns} | {c.field: c.field for c in self.columns}
        return known | dict(self.aliases)

    def columns_of(self, header: Sequence[str]) -> dict[str, str]:
        """The file's headers (as read) → the item's fields; unknown headers are ignored."""
        known = self.headers
        return {h: known[h.strip()] for h in header if h.strip() in known}

    def missing(self, found: Mapping[str, str]) -> list[str]:
        have = set(found.values())
        return [c.header for c in self.columns if c.required and c.field not in have]

    def cells(self, raw: Mapping[str, str]) -> dict[str, str]:
        """A row's cells by field, trimmed."""
        known = self.headers
        return {known[k.strip()]: v.strip() for k, v in raw.items() if k.strip() in known}


def entry_id_of(namespace: uuid.UUID, owner_id: str, item: Mapping[str, Any]) -> str:
    """The id a row's entry gets: the same owner and content, the same id."""
    canonical = json.dumps(dict(item), sort_keys=True, ensure_ascii=False, default=str)
    return str(uuid.uuid5(namespace, f"{owner_id}\n{canonical}"))


def repeated(number: int, first: int) -> RowError:
    return RowError(number, "", N_("This row repeats row %(0)s."), (str(first),))


def refused_rows(
    refusal: Mapping[str, Any],
    rows: Sequence[SheetRow],
    sheet: SheetColumns,
    *,
    id_field: str,
    edited: str,
    renamed: Mapping[str, str],
) -> list[RowError]:
    """The bulk command's refusal (`items`: `{index, field, message}`) on the file's rows:
    `renamed` maps the service's field to the sheet's (funds_fen → funds_yuan), `edited` is
    what a row whose entry was changed since it was imported says."""
    out: list[RowError] = []
    code = str(refusal.get("error") or "")
    listed = refusal.get("items")
    entries = listed if isinstance(listed, list) else []
    if not entries:  # not per item: the whole file
        message_id, args = explain(str(refusal.get("message", "")), code)
        return [RowError(0, "", message_id, args)]
    by_field = sheet.by_field
    for entry in entries:
        index = int(entry.get("index", 0))
        number = rows[index].row if 0 <= index < len(rows) else 0
        found = _ITEM_FIELD.match(str(entry.get("field", "")))
        name = found.group(2) if found and found.group(2) else ""
        name = renamed.get(name, name)
        column = by_field[name].header if name in by_field else ""
        message = str(entry.get("message", ""))
        if name == id_field or code == "conflict":
            out.append(RowError(number, "", edited))
            continue
        message_id, args = explain(message, code)
        out.append(RowError(number, column, message_id, args))
    return sorted(out, key=lambda e: (e.row, e.column))
