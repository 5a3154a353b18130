"""Rows of an uploaded sheet and the per-row error report: plain data, so a service's pure
domain can check rows without the file-format code of `cobuild_kit.sheets`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# A data row as the spreadsheet numbers it (header = row 1, data from row 2), by lower-case column.
NumberedRow = tuple[int, dict[str, str]]


@dataclass(frozen=True)
class RowError:
    """One problem of an import, for the per-row report."""

    row: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}


__all__ = ["NumberedRow", "RowError"]
