"""Hostile uploads to the spreadsheet reader (cobuild_kit.sheets.read_rows): a file costs
memory in proportion to the rows it keeps, never to what it declares or how far it inflates.

Memory is measured with tracemalloc (peak of Python allocations during one read): a bound,
not a timing. Before the fix the crafted A1:XFD1000 sheet peaked above 125 MiB."""

from __future__ import annotations

import io
import re
import tracemalloc
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from cobuild_kit.errors import Invalid
from cobuild_kit.sheets import BLANK_ROWS, MAX_UNCOMPRESSED, read_rows
from openpyxl import Workbook

SHEET = "xl/worksheets/sheet1.xml"
MB = 1_000_000
REQUIRED = ("name", "phone")


def _xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rewrite(xlsx: bytes, name: str, change: Callable[[bytes], bytes]) -> bytes:
    """The same archive with one member's bytes changed (deflated, as Excel writes them)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == name:
                data = change(data)
            dst.writestr(info.filename, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _declare(xml: bytes, ref: str) -> bytes:
    new, n = re.subn(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), xml)
    assert n == 1
    return new


def _crafted(last_row: int = 1000) -> bytes:
    """The 1.6 KB file of the issue: two real rows, a sheet declaring A1:XFD<last_row>, and a
    stray cell in that last row (the rows between are missing, so a reader makes them up)."""
    xlsx = _xlsx([["name", "phone"], ["周一", 13800000001]])
    stray = f'<row r="{last_row}"><c r="XFD{last_row}"><v>1</v></c></row>'.encode()

    def change(xml: bytes) -> bytes:
        xml = _declare(xml, f"A1:XFD{last_row}")
        return xml.replace(b"</sheetData>", stray + b"</sheetData>")

    return _rewrite(xlsx, SHEET, change)


def _sheet_data(xlsx: bytes, rows_xml: bytes, ref: str = "A1:B1") -> bytes:
    """The workbook with its sheet's rows replaced by a header and `rows_xml`, declaring `ref`
    (honestly: the reader before the fix trusted it)."""
    header = b'<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c>' + (
        b'<c r="B1" t="inlineStr"><is><t>phone</t></is></c></row>'
    )

    def change(xml: bytes) -> bytes:
        new, n = re.subn(
            rb"<sheetData>.*</sheetData>|<sheetData/>",
            lambda _: b"<sheetData>" + header + rows_xml + b"</sheetData>",
            xml,
            flags=re.S,
        )
        assert n == 1
        return _declare(new, ref)

    return _rewrite(xlsx, SHEET, change)


def _peak(read: Callable[[], Any]) -> tuple[Any, int]:
    """What `read` returned (or raised), and the peak of Python allocations while it ran."""
    tracemalloc.start()
    try:
        try:
            result: Any = read()
        except Invalid as exc:
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _read(data: bytes, max_rows: int = 5000) -> Callable[[], Any]:
    return lambda: read_rows(data, required=REQUIRED, max_rows=max_rows, field="body.file")


def test_a_declared_dimension_of_16384_columns_costs_nothing() -> None:
    crafted = _crafted()
    assert len(crafted) < 10_000
    rows, peak = _peak(_read(crafted))
    assert rows == [(2, {"name": "周一", "phone": "13800000001"})]
    assert peak < 20 * MB, f"peak {peak / MB:.1f} MB"


def test_an_xlsx_of_150000_deflated_rows_stops_at_the_limit() -> None:
    body = b"".join(
        b'<row r="%d"><c r="A%d"><v>%d</v></c><c r="B%d"><v>1</v></c></row>' % (i, i, i, i)
        for i in range(2, 150_002)
    )
    big = _sheet_data(_xlsx([["x"]]), body, "A1:B150001")
    result, peak = _peak(_read(big, max_rows=100))
    assert isinstance(result, Invalid) and result.field == "body.file"
    assert "at most 100 rows" in result.message
    assert peak < 20 * MB, f"peak {peak / MB:.1f} MB"


def test_too_many_csv_rows_are_refused_before_the_rest_is_read() -> None:
    data = b"name,phone\n" + b"".join(b"n%d,138%08d\n" % (i, i) for i in range(200_000))
    result, peak = _peak(_read(data, max_rows=50))
    assert isinstance(result, Invalid) and "at most 50 rows" in result.message
    assert peak < 5 * MB, f"peak {peak / MB:.1f} MB"


def test_a_zip_bomb_is_refused_by_its_uncompressed_size() -> None:
    # 40 MiB of blanks inside the sheet's XML deflate to about 40 KB.
    padded = _sheet_data(_xlsx([["x"]]), b" " * (MAX_UNCOMPRESSED + 8 * 2**20))
    assert len(padded) < 200_000
    result, peak = _peak(_read(padded))
    assert isinstance(result, Invalid) and result.field == "body.file", result
    assert "unpacks to more than" in result.message
    assert peak < 5 * MB, f"peak {peak / MB:.1f} MB"


def test_a_member_compressed_beyond_reason_is_refused() -> None:
    # Under the total cap, but 8 MiB from a few KB: nothing a spreadsheet holds does that.
    padded = _sheet_data(_xlsx([["x"]]), b" " * (8 * 2**20))
    with pytest.raises(Invalid, match="compressed more than") as caught:
        _read(padded)()
    assert caught.value.field == "body.file"


def test_two_megabytes_of_newlines_stop_at_the_blank_row_allowance() -> None:
    for newline in (b"\n", b"\r\n", b"\r"):
        data = b"name,phone\n" + newline * 2_000_000
        result, peak = _peak(_read(data))
        assert isinstance(result, Invalid), (newline, result)
        assert f"more than {BLANK_ROWS} blank rows" in result.message
        assert peak < 5 * MB, f"peak {peak / MB:.1f} MB"


def test_trailing_blank_rows_within_the_allowance_are_fine() -> None:
    data = b"name,phone\n\xe5\x91\xa8\xe4\xb8\x80,13800000001\n" + b",\n" * 5000
    assert read_rows(data, required=REQUIRED, max_rows=1) == [
        (2, {"name": "周一", "phone": "13800000001"})
    ]


def test_classic_mac_line_endings_read_like_any_other() -> None:
    expected = [(2, {"name": "周一", "phone": "13800000001"}), (4, {"name": "吴二", "phone": "2"})]
    for newline in ("\r", "\n", "\r\n"):
        text = newline.join(["name,phone", "周一,13800000001", "", "吴二,2", ""])
        assert read_rows(text.encode(), required=REQUIRED, max_rows=10) == expected, newline
    # A quoted value may still hold a line break.
    quoted = '\ufeffname,phone\r"多\r行",1\r'.encode()
    assert read_rows(quoted, required=REQUIRED, max_rows=10) == [
        (2, {"name": "多\r行", "phone": "1"})
    ]


def test_a_value_over_the_csv_field_limit_is_a_422_naming_the_field() -> None:
    data = b"name,phone\n" + b'"' + b"x" * (200 * 1024) + b'",1\n'
    with pytest.raises(Invalid, match="longer than 131072 characters") as caught:
        read_rows(data, required=REQUIRED, max_rows=10, field="body.file")
    assert caught.value.field == "body.file"


def test_columns_past_the_bound_are_not_read() -> None:
    wide = "name,phone," + ",".join(f"c{i}" for i in range(100_000)) + "\n周一,1\n"
    rows, peak = _peak(_read(wide.encode()))
    assert rows == [(2, {"name": "周一", "phone": "1"})]
    assert peak < 20 * MB, f"peak {peak / MB:.1f} MB"


def test_a_damaged_xlsx_is_invalid_not_an_error() -> None:
    good = _xlsx([["name", "phone"], ["周一", 1]])
    broken = _rewrite(good, SHEET, lambda xml: xml[: len(xml) // 2])
    with pytest.raises(Invalid, match="not a readable XLSX") as caught:
        _read(broken)()
    assert caught.value.field == "body.file"
