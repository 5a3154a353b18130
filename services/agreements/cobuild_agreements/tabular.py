"""Reading an uploaded sheet (CSV or XLSX) into numbered rows, and the per-row error report.

Rows are numbered as a spreadsheet shows them: the header is row 1, data starts at row 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cobuild_kit.errors import CobuildError
from cobuild_kit.sheets import NumberedRow, RowError, read_rows
from pydantic import ValidationError

Row = NumberedRow


class ImportRejected(CobuildError):
    """A file with any bad row imports nothing; the report names every bad row and field."""

    status = 422
    code = "import_rejected"

    def __init__(self, errors: Sequence[RowError]) -> None:
        super().__init__(f"{len(errors)} error(s) in the file; nothing was imported", field="file")
        self.errors = list(errors)

    def body(self) -> dict[str, Any]:
        return {
            "error": self.code,
            "message": self.message,
            "field": self.field,
            "rows": [e.as_dict() for e in self.errors],
        }


def read_table(data: bytes, required: Sequence[str], max_rows: int) -> list[Row]:
    """Blocking (openpyxl): call it in a thread."""
    return read_rows(data, required=required, max_rows=max_rows)


def row_errors(row: int, exc: ValidationError | CobuildError) -> list[RowError]:
    """A row's failure, with the column it names (`body.` prefixes are dropped)."""
    if isinstance(exc, ValidationError):
        return [
            RowError(row, ".".join(str(p) for p in e["loc"]) or "row", e["msg"])
            for e in exc.errors()
        ]
    field = (exc.field or "row").removeprefix("body.")
    return [RowError(row, field, exc.message)]


__all__ = ["ImportRejected", "Row", "RowError", "read_table", "row_errors"]
