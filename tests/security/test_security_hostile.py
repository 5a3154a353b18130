"""Hostile input: oversized bodies and files, odd characters in names, SQL-looking text,
formula injection in spreadsheet exports, and path traversal in evidence file names."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from cobuild_contracts import Role
from cobuild_kit.testing import eventually
from openpyxl import load_workbook
from security_support import PNG, Suite, World, need_body

D, C, U = Role.DISTRICT_ADMIN, Role.COMMUNITY_ADMIN, Role.UNIT_ADMIN
FORMULA = "=cmd|' /C calc'!A0"


async def claimed(suite: Suite, world: World) -> None:
    """Evidence goes to a claimed commitment: claim K2 (again is a 409, also fine)."""
    r = await suite.call("commitments", "POST", f"/commitments/{world.k2}/claim", U, world.U)
    assert r.status_code in (200, 409), r.text


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


async def test_an_oversized_body_is_refused_early_with_413(suite: Suite, world: World) -> None:
    before = await suite.outbox_counts()
    big = need_body(world.C, description="x" * (2 * 1024 * 1024))
    r = await suite.call("agreements", "POST", "/needs", C, world.C, json=big)
    assert r.status_code == 413, r.text
    assert r.json()["field"] == "body"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit must still hold
        yield b'{"description": "'
        for _ in range(64):
            yield b"y" * 32 * 1024
        yield b'"}'

    r = await suite.call("agreements", "POST", "/needs", C, world.C, content=chunks(),
                         headers={"content-type": "application/json"})  # fmt: skip
    assert r.status_code == 413, r.text
    assert await suite.outbox_counts() == before


async def test_an_oversized_evidence_file_is_refused_and_leaves_no_file(
    suite: Suite, world: World
) -> None:
    await claimed(suite, world)
    data_dir = suite.data_dirs["commitments"]
    limit = suite.rts["commitments"].settings.evidence_max_bytes  # type: ignore[attr-defined]
    before_files, before = files_under(data_dir), await suite.outbox_counts()
    just_over = PNG + b"\0" * (limit + 1 - len(PNG))
    files = {"file": ("big.png", just_over, "image/png")}
    r = await suite.call("commitments", "POST", f"/commitments/{world.k2}/evidence", U, world.U,
                         files=files)  # fmt: skip
    assert r.status_code in (413, 422), r.text
    way_over = {"file": ("huge.png", PNG + b"\0" * (limit + 2 * 1024 * 1024), "image/png")}
    r = await suite.call("commitments", "POST", f"/commitments/{world.k2}/evidence", U, world.U,
                         files=way_over)  # fmt: skip
    assert r.status_code == 413, r.text
    assert files_under(data_dir) == before_files
    assert await suite.outbox_counts() == before


async def test_path_traversal_in_an_evidence_file_name_is_neutralised(
    suite: Suite, world: World
) -> None:
    await claimed(suite, world)
    data_dir = suite.data_dirs["commitments"]
    outside = data_dir.parent
    before_outside = {p for p in outside.rglob("*") if data_dir not in p.parents and p != data_dir}
    for name in ("../../etc/passwd", "..\\..\\boot.ini", "/etc/shadow", "a/../../b.png"):
        files = {"file": (name, PNG, "image/png")}
        r = await suite.call("commitments", "POST", f"/commitments/{world.k2}/evidence", U,
                             world.U, files=files)  # fmt: skip
        assert r.status_code in (201, 409, 422), (name, r.status_code, r.text)
        if r.status_code == 201:
            stored = r.json()["filename"]
            assert "/" not in stored and "\\" not in stored and ".." not in stored, stored
            got = await suite.call("commitments", "GET",
                                   f"/commitments/{world.k2}/evidence/{r.json()['evidence_id']}",
                                   U, world.U)  # fmt: skip
            assert got.status_code == 200 and got.content == PNG
            assert "/" not in got.headers.get("content-disposition", "").split("filename", 1)[-1]
    after_outside = {p for p in outside.rglob("*") if data_dir not in p.parents and p != data_dir}
    assert after_outside == before_outside, "a file landed outside the data directory"


ODD_NAMES = [
    "社区\u202e\u200b名",  # right-to-left override, zero-width space
    "Emoji 🏘️ 社区",
    "tab\tand\nnewline",
    "nul\x00byte",
    "bell\x07\x1b[31mred",
    "\ud800"[:0] + "e\u0301\u0301\u0301",  # combining marks
    "Robert'); DROP TABLE party_directory;--",
    "1' OR '1'='1",
    "%s %n {0} ${jndi:ldap://x}",
    "lone \udc80 surrogate",
]


async def test_odd_characters_in_names_are_stored_verbatim_or_refused_cleanly(
    suite: Suite, world: World
) -> None:
    stored, refused = 0, 0
    for name in ODD_NAMES:
        body = {"kind": "community", "name": name, "parent_id": str(world.S)}
        raw = json.dumps(body).encode()  # \uXXXX escapes: a lone surrogate travels as JSON does
        r = await suite.call("agreements", "POST", "/parties", D, world.D, content=raw,
                             headers={"content-type": "application/json"})  # fmt: skip
        assert r.status_code in (201, 422), (name, r.status_code, r.text)
        if r.status_code == 422:
            refused += 1
            assert r.json()["field"] in ("body", "body.name"), r.text
            continue
        stored += 1
        got = await suite.ok("agreements", "GET", f"/parties/{r.json()['party_id']}", D, world.D)
        assert got["name"] == name, (name, got["name"])
        if not name.isprintable() and "\udc80" in name:
            continue  # the rest of the services take what the directory took: enough
        member = {"name": name[:50], "phone": "139" + str(abs(hash(name)))[:8],
                  "unit_id": str(world.U), "community_id": str(world.C)}  # fmt: skip
        m = await suite.call("points", "POST", "/members", U, world.U, json=member)
        assert m.status_code in (201, 409, 422), (name, m.status_code, m.text)
        wish = {"community_id": str(world.C), "title": name[:100]}
        w = await suite.call("points", "POST", "/wishes", C, world.C, json=wish)
        assert w.status_code in (201, 422), (name, w.status_code, w.text)
        n = await suite.call("agreements", "POST", "/needs", C, world.C,
                             json=need_body(world.C, title=name[:100]))  # fmt: skip
        assert n.status_code in (201, 422), (name, n.status_code, n.text)
    assert stored >= len(ODD_NAMES) - 2  # only control characters may be refused
    sql = "Robert'); DROP TABLE party_directory;--"
    listed = await suite.ok("agreements", "GET", "/parties", D, world.D,
                            params={"parent_id": str(world.S), "limit": 500})  # fmt: skip
    assert sql in {p["name"] for p in listed["items"]}  # the table is there, the text is text


def _csv_cells(body: bytes) -> list[str]:
    return [c for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for c in row]


def _xlsx_cells(body: bytes) -> list[Any]:
    wb = load_workbook(io.BytesIO(body))
    return [cell for ws in wb.worksheets for row in ws.iter_rows() for cell in row]


async def test_formula_injection_in_exports_is_neutralised(suite: Suite, world: World) -> None:
    await suite.ok("agreements", "PATCH", f"/parties/{world.C}", D, world.D,
                   json={"name": FORMULA})  # fmt: skip
    params = {"scope": "street", "id": str(world.S)}

    async def renamed() -> bool:
        r = await suite.call("evaluation", "GET", "/exports/ledger.csv", D, world.D, params=params)
        return r.status_code == 200 and "cmd|" in r.text

    await eventually(renamed, timeout=20)
    csv_body = (await suite.call("evaluation", "GET", "/exports/ledger.csv", D, world.D,
                                 params=params)).content  # fmt: skip
    cells = _csv_cells(csv_body)
    assert any("cmd|" in c for c in cells)
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")], cells
    xlsx = await suite.call("evaluation", "GET", "/exports/ledger.xlsx", D, world.D, params=params)
    assert xlsx.status_code == 200
    xcells = _xlsx_cells(xlsx.content)
    assert any("cmd|" in str(c.value) for c in xcells)
    for c in xcells:
        assert c.data_type != "f", f"formula cell {c.coordinate}: {c.value}"
        if isinstance(c.value, str):
            assert c.value[:1] not in ("=", "+", "@"), c.value
