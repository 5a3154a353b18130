"""Spreadsheet imports under hostile files: authority is checked before a file is parsed, and
an authorised admin's bomb is a 422, not a service using hundreds of MB.

The imports: the agreements service's needs and parties imports, and the points member import.
A spy on the kit's CSV and XLSX readers shows whether a file was parsed."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cobuild_contracts import Role
from cobuild_kit import sheets
from cobuild_kit.sheets import MAX_UNCOMPRESSED
from openpyxl import Workbook
from security_support import Suite, World

AG, PT = "agreements", "points"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET = "xl/worksheets/sheet1.xml"


def _xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _with_sheet(xlsx: bytes, change: Callable[[bytes], bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(
                info.filename,
                change(data) if info.filename == SHEET else data,
                zipfile.ZIP_DEFLATED,
            )
    return out.getvalue()


def crafted(header: list[str]) -> bytes:
    """A few KB declaring A1:XFD1000, with a stray cell in row 1000: 125 MiB to the old reader."""

    def change(xml: bytes) -> bytes:
        xml = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1000"', xml)
        stray = b'<row r="1000"><c r="XFD1000"><v>1</v></c></row>'
        return xml.replace(b"</sheetData>", stray + b"</sheetData>")

    return _with_sheet(_xlsx([header]), change)


def bomb(header: list[str]) -> bytes:
    """About 40 KB of XLSX inflating to over 40 MiB (blanks inside the sheet's rows)."""
    padding = b" " * (MAX_UNCOMPRESSED + 8 * 2**20)
    return _with_sheet(
        _xlsx([header]), lambda xml: xml.replace(b"</sheetData>", padding + b"</sheetData>")
    )


def upload(data: bytes, name: str = "rows.xlsx", kind: str = XLSX) -> dict[str, Any]:
    return {"files": {"file": (name, data, kind)}}


NEEDS_HEADER = ["category", "kind", "title", "quantity", "quantity_unit", "wanted_by"]
PARTIES_HEADER = ["kind", "name", "parent"]
ROSTER_HEADER = ["name", "phone", "unit_id", "community_id"]


class Spy:
    def __init__(self) -> None:
        self.calls = 0


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Spy]:
    """Counts the files parsed: the kit's CSV and XLSX readers, which `read_rows` calls
    whichever module a service imports it into."""
    spy = Spy()
    for name in ("_csv_rows", "_xlsx_rows"):
        real = getattr(sheets, name)

        def counting(*a: Any, _real: Any = real, **kw: Any) -> Any:
            spy.calls += 1
            return _real(*a, **kw)

        monkeypatch.setattr(sheets, name, counting)
    yield spy


def _routes(w: World) -> list[tuple[str, str, list[str]]]:
    return [
        (AG, f"/communities/{w.C}/needs/import", NEEDS_HEADER),
        (AG, "/parties/import", PARTIES_HEADER),
        (PT, "/members/import", ROSTER_HEADER),
    ]


async def test_a_members_token_is_refused_before_the_file_is_read(
    suite: Suite, world: World, parsed: Spy
) -> None:
    w = world
    for service, url, header in _routes(w):
        for data in (crafted(header), bomb(header)):
            r = await suite.call(service, "POST", url, Role.MEMBER, w.M, **upload(data))
            assert r.status_code == 403, (url, r.status_code, r.text)
            assert parsed.calls == 0, f"{url} parsed the file before refusing it"


async def test_other_roles_without_authority_are_refused_before_the_file_is_read(
    suite: Suite, world: World, parsed: Spy
) -> None:
    w = world
    refused = [
        # another community's admin: the needs import's authority is the community
        (AG, f"/communities/{w.C}/needs/import", NEEDS_HEADER, Role.COMMUNITY_ADMIN, w.c),
        (AG, f"/communities/{w.C}/needs/import", NEEDS_HEADER, Role.UNIT_ADMIN, w.U),
        (AG, "/parties/import", PARTIES_HEADER, Role.COMMUNITY_ADMIN, w.C),
        (AG, "/parties/import", PARTIES_HEADER, Role.UNIT_ADMIN, w.U),
        (PT, "/members/import", ROSTER_HEADER, Role.EXPERT, w.E),
        (PT, "/members/import", ROSTER_HEADER, Role.DISTRICT_ADMIN, w.D),
    ]
    for service, url, header, role, party in refused:
        r = await suite.call(service, "POST", url, role, party, **upload(bomb(header)))
        assert r.status_code == 403, (url, role, r.status_code, r.text)
        assert parsed.calls == 0, f"{url} parsed the file before refusing {role.value}"


async def test_an_authorised_admins_bomb_is_a_422_naming_the_file(
    suite: Suite, world: World, parsed: Spy
) -> None:
    w = world
    admins = {
        f"/communities/{w.C}/needs/import": (Role.COMMUNITY_ADMIN, w.C, "file"),
        "/parties/import": (Role.DISTRICT_ADMIN, w.D, "file"),
        "/members/import": (Role.UNIT_ADMIN, w.U, "body.file"),
    }
    for service, url, header in _routes(w):
        role, party, field = admins[url]
        r = await suite.call(service, "POST", url, role, party, **upload(bomb(header)))
        assert r.status_code == 422, (url, r.status_code, r.text)
        assert r.json()["field"] == field and "unpacks to more than" in r.json()["message"]
    assert parsed.calls == 3

    # The crafted sheet is read as the header it holds (no rows), not 16,384 columns a row.
    r = await suite.call(
        PT, "POST", "/members/import", Role.UNIT_ADMIN, w.U, **upload(crafted(ROSTER_HEADER))
    )
    assert r.status_code == 422 and r.json()["rows"] == [
        {"row": 2, "field": "file", "message": "no data rows"}
    ], r.text


async def test_csv_with_classic_mac_line_endings_imports(suite: Suite, world: World) -> None:
    w = world
    phones = ["139" + str(uuid.uuid4().int)[:8] for _ in range(2)]
    text = "\r".join(
        [
            "name,phone,unit_id,community_id",
            *(f"王{i},{p},{w.U},{w.C}" for i, p in enumerate(phones)),
        ]
    )
    r = await suite.call(
        PT, "POST", "/members/import", Role.UNIT_ADMIN, w.U,
        **upload(text.encode() + b"\r", "m.csv", "text/csv"),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 2


async def test_a_csv_value_over_the_field_limit_is_a_422_naming_the_file(
    suite: Suite, world: World
) -> None:
    w = world
    text = f'name,phone,unit_id,community_id\n"{"x" * 200 * 1024}",1,{w.U},{w.C}\n'
    r = await suite.call(
        PT, "POST", "/members/import", Role.UNIT_ADMIN, w.U,
        **upload(text.encode(), "m.csv", "text/csv"),
    )  # fmt: skip
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "body.file" and "longer than" in r.json()["message"]
    text = f"kind,name,parent\rcommunity,{'y' * 200 * 1024},{w.S}\r"
    r = await suite.call(
        AG, "POST", "/parties/import", Role.DISTRICT_ADMIN, w.D,
        **upload(text.encode(), "p.csv", "text/csv"),
    )  # fmt: skip
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "file" and "longer than" in r.json()["message"]
