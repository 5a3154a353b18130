"""Reading an uploaded sheet (CSV or XLSX) into numbered rows, off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from cobuild_kit.sheets import NumberedRow, read_rows
from fastapi import UploadFile


async def read_upload(
    file: UploadFile, required: Sequence[str], max_rows: int
) -> list[NumberedRow]:
    """The header is row 1, data starts at row 2. Parsing (openpyxl) blocks: it runs in a thread."""
    data = await file.read()
    return await asyncio.to_thread(read_rows, data, required=required, max_rows=max_rows)
