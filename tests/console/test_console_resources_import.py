"""A unit administrator imports the unit's resources list from Excel in Debian's Chromium,
against the real services on a stack of their own: the template downloaded (Chinese headers,
pickers), a file with one bad row (its error on screen and in the problems file, nothing
imported), the row fixed and the file imported (the resources in the list, one limited to a
paired community by name), the same file again (nothing changes). Every step is read back from
the page; each new page is scanned with axe-core and photographed at 1280 and 390 px into
var/screenshots/console/."""

from __future__ import annotations

import asyncio
import io
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from cobuild_console.app import create_app
from cobuild_console.runtime import NODE_MODULES
from cobuild_console.settings import ConsoleSettings
from cobuild_kit.clock import business_date, write_clock_file
from cobuild_scenario.actors import Api, Tokens
from cobuild_scenario.pace import Quiescence
from cobuild_stack.launcher import Stack, StackConfig
from cobuild_stack.ports import free_port
from console_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    COMMUNITY_NAME,
    UNIT_NAME,
    FakeAccess,
    FakeIssuer,
    seed_district,
    served,
)
from openpyxl import Workbook, load_workbook
from test_console_browser import CHROMIUM, SERVICES, Visit, World, _ensure_browser, _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(900)]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world() -> AsyncIterator[World]:
    _ensure_browser()
    axe_path = NODE_MODULES / "axe-core" / "axe.min.js"
    if not axe_path.exists():
        pytest.fail(f"{axe_path} is missing: run `make` (npm ci in services/console)")
    from playwright.async_api import async_playwright

    root = Path(tempfile.mkdtemp(prefix="cobuild-console-resources-"))
    os.chmod(root, 0o755)  # as root, PostgreSQL runs as nobody and must reach var/pg
    clock = root / "clock.txt"
    start = datetime.now(UTC)
    write_clock_file(clock, start)
    config = StackConfig.from_env(
        {"COBUILD_PROVIDER": "0"},  # the issuer here is console_support's stand-in
        var_dir=root / "var",
        services=SERVICES,
        service_ports={name: 0 for name in SERVICES},
        partitions=2,
        test_mode=True,
        clock=f"file:{clock}",
    )
    stack = Stack(config)
    info = await stack.start()
    api = Api({n: s["url"] for n, s in info["services"].items()}, Tokens(info["keys"]))
    try:
        operator = api.tokens.token("operator", "00000000-0000-4000-8000-000000000000")
        quiet = Quiescence(api, operator, timeout_s=120)
        district = await seed_district(api, quiet, business_date(start))
        await quiet.wait()
        issuer = FakeIssuer()
        access = FakeAccess.with_dev_keys(
            issuer, Path(info["keys"]["private_key"]).parent, info["keys"]["kid"]
        )
        async with served(issuer.app()) as issuer_url:
            issuer.url = issuer_url
            async with served(access.app()) as access_url:
                port = free_port()
                settings = ConsoleSettings(
                    port=port,
                    public_url=f"http://127.0.0.1:{port}",
                    oidc_issuer=issuer_url,
                    oidc_client_id=CLIENT_ID,
                    oidc_client_secret=CLIENT_SECRET,
                    access_url=access_url,
                    service_urls={
                        # When the notifications service is not started here, the header's
                        # unread count finds it unavailable (an empty badge) instead of a
                        # service missing from the settings.
                        "notifications": f"http://127.0.0.1:{free_port()}",
                        **{n: s["url"] for n, s in info["services"].items()},
                    },
                    clock=f"file:{clock}",
                )
                async with (
                    served(create_app(settings), port) as console_url,
                    async_playwright() as pw,
                ):
                    browser = await pw.chromium.launch(
                        executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
                    )
                    try:
                        yield World(
                            district, console_url, issuer, access, browser, axe_path.read_text()
                        )
                    finally:
                        await browser.close()
    finally:
        await api.aclose()
        await stack.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def unit_admin(world: World) -> AsyncIterator[Visit]:
    person = world.issuer.add("zhou.min", "周敏")
    world.access.grant(person, "unit_admin", world.district.unit_id, UNIT_NAME)
    visit = await _sign_in(world, "zhou.min")
    yield visit
    await visit.context.close()


def _sheet(header: list[str], rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _workbook(got: Any) -> Any:
    """The downloaded spreadsheet, opened (read off the event loop)."""
    path = Path(await (await got.value).path())
    data = await asyncio.to_thread(path.read_bytes)
    return load_workbook(io.BytesIO(data))


async def _upload(page: Any, console_url: str, name: str, content: bytes) -> None:
    await page.goto(console_url + "/resources/import")
    await page.get_by_label("资源清单文件（XLSX 或 CSV）").set_input_files(
        {"name": name, "mimeType": "application/octet-stream", "buffer": content}
    )
    await page.get_by_role("button", name="导入", exact=True).click()
    await page.locator("#job .job-state .note").wait_for(timeout=30_000)


async def _resources(page: Any, console_url: str) -> tuple[int, str]:
    """The list's count (its caption) and the table's text."""
    await page.goto(console_url + "/resources")
    caption = await page.locator("#resources-caption").inner_text()
    return int(re.findall(r"\d+", caption)[0]), await page.get_by_role("table").inner_text()


async def test_an_excel_import_with_a_bad_row_imports_nothing_then_all_and_again_nothing(
    unit_admin: Visit,
) -> None:
    page, w = unit_admin.page, unit_admin.world
    before, _ = await _resources(page, w.console_url)
    await page.get_by_role("link", name="从 Excel 导入").click()
    await page.get_by_role("heading", name="从 Excel 导入资源清单", level=1).wait_for()
    await unit_admin.look("resources-import")

    async with page.expect_download() as got:
        await page.get_by_role("link", name="下载导入模板").click()
    template = await _workbook(got)
    sheet = template.worksheets[0]
    header = [c.value for c in sheet[1]]
    assert sheet.title == "资源清单"
    assert header[:3] == ["标题", "类别", "类型"]
    assert {"资金（元）", "起始日期", "截止日期", "限定社区"} <= set(header)
    # Pickers: category, kind, and the unit's paired communities by name.
    pickers = {str(v.sqref).split(":")[0][0] for v in sheet.data_validations.dataValidation}
    assert len(pickers) == 3
    options = template["选项"]
    assert COMMUNITY_NAME in [c.value for c in options["C"]]
    assert "幸福小区" in [c.value for c in options["A"]]

    today = business_date(datetime.now(UTC))
    start, end = today.isoformat(), (today + timedelta(days=200)).isoformat()
    column = {h: n for n, h in enumerate(header)}

    def row(**cells: Any) -> list[Any]:
        out: list[Any] = [""] * len(header)
        for name, value in cells.items():
            out[column[name]] = value
        return out

    good = row(标题="医院义诊进社区", 类别="幸福小区", 类型="实事", 可提供数量=12, 数量单位="次",
               **{"资金（元）": "3000.50"}, 起始日期=start, 截止日期=end, 限定社区=COMMUNITY_NAME)  # fmt: skip
    bad = row(标题="急救知识培训", 类别="幸福小区", 类型="实事", 可提供数量=4, 数量单位="场",
              起始日期=start, 截止日期="年底")  # fmt: skip
    await _upload(page, w.console_url, "资源清单.xlsx", _sheet(header, [good, bad]))
    state = page.locator("#job")
    assert "未导入任何资源" in await state.inner_text()
    error_row = page.get_by_role("row", name="第 3 行")
    assert "截止日期" in await error_row.inner_text()
    assert "日期" in await error_row.inner_text()
    async with page.expect_download() as got:
        await page.get_by_role("link", name="下载问题清单（Excel）").click()
    report = (await _workbook(got)).worksheets[0]
    assert [c.value for c in report[2]][:2] == [3, "截止日期"]
    await unit_admin.look("resources-import-errors")
    count, _ = await _resources(page, w.console_url)
    assert count == before  # all or nothing

    bad[column["截止日期"]] = end
    fixed = _sheet(header, [good, bad])
    await _upload(page, w.console_url, "资源清单.xlsx", fixed)
    assert "已导入并提供 2 项资源" in await page.locator("#job").inner_text()
    await unit_admin.look("resources-import-done")
    await page.get_by_role("link", name="查看资源清单").click()
    await page.get_by_role("heading", name="资源清单", level=1).wait_for()
    count, table = await _resources(page, w.console_url)
    assert count == before + 2
    assert "医院义诊进社区" in table and "急救知识培训" in table and "¥3,000.50" in table
    await unit_admin.look("resources-list-imported")
    await page.get_by_role("link", name="医院义诊进社区").click()
    await page.get_by_role("heading", name="医院义诊进社区", level=1).wait_for()
    assert COMMUNITY_NAME in await page.locator("main").inner_text()

    await _upload(page, w.console_url, "资源清单（再次）.xlsx", fixed)
    assert "没有新内容" in await page.locator("#job").inner_text()
    count, _ = await _resources(page, w.console_url)
    assert count == before + 2


async def test_only_a_unit_administrator_reaches_the_import(world: World) -> None:
    person = world.issuer.add("li.juan", "李娟")
    world.access.grant(person, "community_admin", world.district.community_id, COMMUNITY_NAME)
    visit = await _sign_in(world, "li.juan")
    try:
        for path in ("/resources/import", "/resources/import/template.xlsx"):
            answer = await visit.page.goto(world.console_url + path)
            assert answer is not None and answer.status == 404, path
    finally:
        await visit.context.close()
