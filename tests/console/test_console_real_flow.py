"""The workbench's whole loop on the real stack `cobuild run` starts: Canaille, the access
service, the mail catcher, the six services and the console, on free ports (issue 34's
"Tests": everything read back from the pages, in Debian's Chromium).

A community worker and a unit administrator each sign in on Canaille's own pages, under grants
made through the delegation rules. The worker accepts a member's report, imports a needs list
from an XLSX file with one bad row (the row's error shown, nothing imported), fixes it and
imports it. The unit administrator publishes a resource, proposes a draft for one of the
imported needs it suits; the worker counters; both sign. The unit claims the commitment,
assigns the member, reports progress with the amount paid, uploads a photo and marks it done;
the worker confirms; the unit's fulfilment rate on its own page moves. All of it at a desktop's
width, then again on phones (390×844). Screenshots of each step at 1280 and 390 px
(real-flow-*) in var/screenshots/console/, each page axe-scanned."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from cobuild_console.runtime import NODE_MODULES
from cobuild_kit.scim import NewUser
from cobuild_scenario.actors import Api, Tokens
from cobuild_scenario.pace import Quiescence
from cobuild_stack import accounts
from cobuild_stack.discovery import ProviderInfo
from cobuild_stack.launcher import SERVICES, Stack, StackConfig
from cobuild_stack.provider import ProviderSettings
from openpyxl import Workbook, load_workbook

from tests.console.console_support import tiny_png
from tests.provider.provider_support import CHROMIUM, chromium_or_skip

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(600)]

PASSWORD = "Gongjian-2026!"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "console"
WIDTHS = {"1280": (1280, 900), "390": (390, 844)}
VIEWPORTS: dict[str, Any] = {
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 390, "height": 844},
}
COMMUNITY = "幸福里社区"
UNIT = "区人民医院"
MEMBER = "陈晓红"
NEED = "小区健身器材维护"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack() -> AsyncIterator[dict[str, Any]]:
    root = Path(tempfile.mkdtemp(prefix="cobuild-console-flow-"))
    os.chmod(root, 0o755)  # as root, PostgreSQL runs as nobody and must reach var/pg
    config = StackConfig.from_env(
        {},
        var_dir=root / "var",
        service_ports={name: 0 for name in SERVICES},
        partitions=1,
        test_mode=True,
        console_port=0,
        provider=ProviderSettings(port=0),
    )
    running = Stack(config)
    info = await running.start()
    try:
        yield dict(info)
    finally:
        await running.stop()
        shutil.rmtree(root, ignore_errors=True)


# -- set-up through the interfaces (development tokens only where no person acts) -----------


async def _directory(api: Api, tag: str) -> dict[str, str]:
    """A district, a street, the community and the unit paired with it; the unit's member
    registered and asking to report (the worker accepts on her page)."""
    ids = {"D1": str(uuid.uuid4())}
    district = api.actor("district_admin", ids["D1"])

    async def party(code: str, **body: Any) -> None:
        made = await district.post("agreements", "/parties", {**body, "code": code + tag})
        ids[code] = str(made["party_id"])

    await party("D1", party_id=ids["D1"], kind="district", name="示范区")
    await party("S1", kind="street", name="东湖街道", parent_id=ids["D1"])
    await party("C1", kind="community", name=COMMUNITY, parent_id=ids["S1"])
    await party(
        "U1",
        kind="unit",
        name=UNIT,
        parent_id=ids["D1"],
        unit_type="public_institution",
        paired_community_ids=[ids["C1"]],
    )
    quiet = Quiescence(api, api.tokens.token("operator", ids["D1"]))
    await quiet.wait()
    member = await api.actor("unit_admin", ids["U1"]).post(
        "points",
        "/members",
        {
            "name": MEMBER,
            "phone": "13900139000" if tag else "13800138000",  # a phone is one member's
            "unit_id": ids["U1"],
            "community_id": ids["C1"],
        },
    )
    ids["M1"] = str(member["member_id"])
    await api.actor("member", ids["M1"]).post("points", f"/members/{ids['M1']}/report", {})
    await quiet.wait()
    return ids


async def _exchange(api: Api, user: str, provider: ProviderInfo, grant_id: str) -> str:
    tokens = await accounts.sign_in(provider, user, PASSWORD)
    answer = await api.request(
        "access",
        "POST",
        "/exchange",
        json={"subject_token": tokens.access_token, "grant_id": grant_id},
    )
    return str(answer.json()["access_token"])


async def _grant(api: Api, token: str, subject: str, role: str, party_id: str) -> str:
    answer = await api.request(
        "access",
        "POST",
        "/grants",
        token=token,
        json={"subject": subject, "role": role, "party_id": party_id},
        ok=(201,),
    )
    return str(answer.json()["grant_id"])


async def _people(api: Api, provider: ProviderInfo, ids: dict[str, str], tag: str) -> None:
    """Accounts through SCIM; the district admin bootstrapped; the street secretary and the
    unit's administrator granted by her, the community worker by the street secretary."""
    await accounts.provision(
        provider,
        *(
            NewUser(user_name=u, display_name=n, family_name=n[0], password=PASSWORD)
            for u, n in (
                (f"district-admin{tag}", "示范区管理员"),
                (f"zhou.street{tag}", "周建国"),
                (f"li.juan{tag}", "李娟"),
                (f"wang.fang{tag}", "王芳"),
            )
        ),
    )
    boot = await api.request(
        "access",
        "POST",
        "/bootstrap/grants",
        token=api.tokens.token("operator", ids["D1"]),
        json={"subject": f"district-admin{tag}", "role": "district_admin", "party_id": ids["D1"]},
        ok=(201,),
    )
    district = await _exchange(api, f"district-admin{tag}", provider, boot.json()["grant_id"])
    await _grant(api, district, f"wang.fang{tag}", "unit_admin", ids["U1"])
    street_grant = await _grant(api, district, f"zhou.street{tag}", "street_admin", ids["S1"])
    street = await _exchange(api, f"zhou.street{tag}", provider, street_grant)
    await _grant(api, street, f"li.juan{tag}", "community_admin", ids["C1"])


# -- the browser side ----------------------------------------------------------------------


class Person:
    """One person's browser, signed in on the provider's pages."""

    def __init__(self, page: Any, console: str, axe: str, size: str) -> None:
        self.page = page
        self.console = console
        self.axe = axe
        self.size = size  # "desktop" or "phone": the viewport it works at

    async def sign_in(self, login: str) -> None:
        page = self.page
        await page.goto(self.console + "/")
        await page.get_by_role("link", name="登录").click()
        await page.fill("input[name=login]", login)
        await page.click("button[name=answer]")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit].primary")
        await page.wait_for_url(self.console + "/**")

    async def look(self, name: str) -> None:
        """Screenshots at both widths, and axe at each: no serious or critical violation."""
        page = self.page
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for label, (width, height) in WIDTHS.items():
            await page.set_viewport_size({"width": width, "height": height})
            await page.screenshot(
                path=str(SCREENSHOTS / f"real-flow-{self.size}-{name}-{label}.png"),
                full_page=True,
            )
            await page.evaluate(self.axe + "\n;true")
            found = await page.evaluate(
                "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa',"
                " 'wcag21a', 'wcag21aa', 'best-practice']})).violations.map(v => ({id: v.id,"
                " impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"
            )
            bad = [v for v in found if v["impact"] in ("serious", "critical")]
            assert not bad, f"{name} at {label} px: {bad}"
        await page.set_viewport_size(VIEWPORTS[self.size])

    async def shown(self, text: str, timeout_ms: float = 15_000) -> None:
        """Wait for the text; if it never comes, fail with what the page says instead."""
        try:
            await self.page.get_by_text(text).first.wait_for(timeout=timeout_ms)
        except Exception as exc:
            said = await self.page.locator("main").inner_text()
            raise AssertionError(f"{text!r} not shown: {said[:600]}") from exc

    async def rate(self) -> str:
        """The fulfilment rate by count on the unit's 履约情况 page."""
        await self.page.goto(self.console + "/rates")
        return str(await self.page.locator("[data-rate='fulfilment_rate']").inner_text())


def _sheet(header: list[Any], rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _import(worker: Person, name: str, content: bytes) -> str:
    page = worker.page
    await page.goto(worker.console + "/needs/import")
    await page.get_by_label("需求清单文件（XLSX 或 CSV）").set_input_files(
        {"name": name, "mimeType": "application/octet-stream", "buffer": content}
    )
    await page.get_by_role("button", name="导入", exact=True).click()
    await page.locator("#job .job-state .note").wait_for(timeout=60_000)
    return str(await page.locator("#job").inner_text())


async def _needs_list(worker: Person, today: date) -> None:
    """The template downloaded, a file with one bad row refused whole, then imported."""
    page = worker.page
    await page.goto(worker.console + "/needs/import")
    async with page.expect_download() as got:
        await page.get_by_role("link", name="下载导入模板").click()
    path = Path(await (await got.value).path())
    template = load_workbook(io.BytesIO(await asyncio.to_thread(path.read_bytes)))
    header = [c.value for c in template.worksheets[0][1]]
    wanted = (today + timedelta(days=60)).isoformat()
    good = [NEED, "幸福小区", "实事", 2, "套", "1200.50", wanted, 300, "公开", ""]
    bad = ["社区食堂餐桌更换", "幸福小区", "实事", 10, "张", "800", "下个月", 80, "公开", ""]
    said = await _import(worker, "需求清单.xlsx", _sheet(header, [good, bad]))
    assert "未导入任何需求" in said, said
    assert "期望完成日期" in await page.get_by_role("row", name="第 3 行").inner_text()
    await worker.look("import-refused")
    bad[6] = wanted
    said = await _import(worker, "需求清单.xlsx", _sheet(header, [good, bad]))
    assert "已导入并发布 2 条需求" in said, said
    await page.goto(worker.console + "/needs")
    assert NEED in await page.get_by_role("table").inner_text()


async def _talk_and_sign(unit: Person, worker: Person, today: date) -> None:
    """The unit offers a resource, proposes a draft for the imported need it suits; the
    worker counters; both sign."""
    page = unit.page
    await page.get_by_role("link", name="资源清单").click()
    await page.get_by_label("标题").fill("社区健身器材维护志愿服务")
    await page.get_by_label("类别").select_option(label="幸福小区")
    await page.get_by_label("类型").select_option("task")
    await page.get_by_label("可提供数量").fill("2")
    await page.get_by_label("数量单位").fill("套")
    await page.get_by_label("资金（元）").fill("1200.50")
    await page.get_by_label("截止日期").fill((today + timedelta(days=200)).isoformat())
    await page.get_by_label(COMMUNITY).check()
    await page.get_by_role("button", name="发布资源").click()
    await unit.shown("已发布")
    matches = page.locator("#matches")
    await matches.get_by_text(NEED).wait_for()
    await matches.get_by_role("link", name=f"就“{NEED}”发起协议草案").click()
    await page.get_by_role("heading", name=f"向{COMMUNITY}发起协议草案").wait_for()
    first = page.locator("fieldset.item").nth(0)
    assert await first.get_by_label("定项目（做什么）").input_value() == NEED
    await first.get_by_label("责任人（填职务，不填姓名）").fill("后勤处处长")
    await page.get_by_role("button", name="发送草案").click()
    await unit.shown("协议草案已发给社区")
    agreement_url = page.url

    other = worker.page
    await other.goto(agreement_url)
    await other.get_by_role("link", name="提出修改意见").click()
    await other.locator("#items-0-responsible_title").fill("后勤处副处长")
    await other.get_by_role("button", name="发送草案").click()
    await worker.shown("修改意见已发给共建单位。")

    await page.reload()
    assert "后勤处副处长" in await page.locator(".diff").inner_text()
    await unit.look("counter-diff")
    await page.get_by_role("button", name="签署第 2 版").click()
    await unit.shown("您的签署已记录，等待对方签署。")
    await other.reload()
    await other.get_by_role("button", name="签署第 2 版").click()
    await worker.shown("签署完成，协议已生效。")


async def _fulfil(unit: Person) -> str:
    """Claim on the board (once the commitments service opened it), assign the member,
    report progress with the amount paid, a photo, mark done. Returns the commitment id."""
    page = unit.page
    card = page.locator("li", has=page.get_by_role("link", name=NEED))
    for _ in range(60):
        await page.goto(unit.console + "/tasks")
        if await card.count():
            break
        await asyncio.sleep(1)
    await card.get_by_role("button", name="认领").click()
    await card.get_by_text(f"已认领“{NEED}”").wait_for()
    await card.get_by_role("link", name="指派党员并报告进度").click()
    await page.get_by_role("heading", name=NEED, level=1).wait_for()
    for _ in range(30):  # the commitments service learns of the accepted report from its event
        await page.get_by_label(MEMBER).check()
        await page.get_by_role("button", name="保存指派").click()
        await page.wait_for_load_state()
        if await page.get_by_text("已指派 1 名党员。").count():
            break
        await asyncio.sleep(1)
    else:
        raise AssertionError(await page.locator("main").inner_text())
    await page.get_by_label("进度（%）").fill("100")
    await page.get_by_label("已支付金额（元）").fill("1,200.50")
    await page.get_by_label("支付凭证号").fill("ZF-2026-0001")
    await page.get_by_label("完成情况").fill("两套器材已检修完毕，社区已验看。")
    await page.get_by_role("button", name="提交进度").click()
    await unit.shown("已记录进度：100%。")
    assert "已支付 ¥1,200.50" in await page.locator(".facts").inner_text()
    await page.get_by_label("工作现场照片").set_input_files(
        {"name": "器材检修.png", "mimeType": "image/png", "buffer": tiny_png()}
    )
    await page.get_by_role("button", name="上传", exact=True).click()
    await unit.shown("“器材检修.png”已作为佐证上传。")
    await page.get_by_label(f"{MEMBER}的服务时长（小时）").fill("3")
    await page.get_by_role("button", name="标记完成").click()
    await unit.shown("已标记完成，等待社区确认或退回。")
    await unit.look("task-done")
    return str(page.url.rstrip("/").split("/")[-1].split("#")[0])


@pytest.mark.parametrize("size", ["desktop", "phone"])
async def test_a_worker_and_a_unit_go_the_whole_loop_signed_in_at_the_real_provider(
    stack: dict[str, Any], size: str
) -> None:
    """At a desktop's 1280 px, and again on phones of 390×844 (touch, mobile)."""
    await asyncio.to_thread(chromium_or_skip)
    from playwright.async_api import async_playwright

    tag = "" if size == "desktop" else "-m"  # a district and accounts of each run's own
    provider, console = stack["provider"], stack["console"]["url"]
    axe = (NODE_MODULES / "axe-core" / "axe.min.js").read_text()
    api = Api({n: s["url"] for n, s in stack["services"].items()}, Tokens(stack["keys"]))
    try:
        ids = await _directory(api, tag)
        await _people(api, provider, ids, tag)
    finally:
        await api.aclose()
    today = date.today()

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            contexts = [
                await browser.new_context(
                    locale="zh-CN",
                    viewport=VIEWPORTS[size],
                    is_mobile=size == "phone",
                    has_touch=size == "phone",
                )
                for _ in range(2)
            ]
            worker = Person(await contexts[0].new_page(), console, axe, size)
            unit = Person(await contexts[1].new_page(), console, axe, size)

            await worker.sign_in(f"li.juan{tag}")
            who = await worker.page.locator(".who").inner_text()
            assert who == f"李娟 · 当前身份：{COMMUNITY} 社区工作者", who
            await worker.page.get_by_role("button", name=f"接收{MEMBER}的报到").click()
            await worker.shown(f"已接收{MEMBER}到本社区报到。")
            await worker.look("todo")
            await _needs_list(worker, today)

            await unit.sign_in(f"wang.fang{tag}")
            who = await unit.page.locator(".who").inner_text()
            assert who == f"王芳 · 当前身份：{UNIT} 共建单位管理员", who
            await _talk_and_sign(unit, worker, today)

            before = await unit.rate()
            commitment_id = await _fulfil(unit)
            page = worker.page
            await page.goto(f"{console}/commitments/{commitment_id}")
            await page.get_by_role("img", name="佐证照片 器材检修.png").wait_for()
            await page.get_by_role("button", name="确认履约").click()
            await worker.shown("已确认履约，谢谢！")
            await worker.look("confirmed")

            after = before
            for _ in range(60):  # the ledger learns of it from the event a moment later
                after = await unit.rate()
                if after != before:
                    break
                await asyncio.sleep(1)
            assert after.endswith("%") and float(after[:-1]) == 100, (before, after)
            await unit.look("rates")
        finally:
            await browser.close()
