"""The unit administrator's pages in Debian's Chromium against the real services on a stack of
their own: the tasks board, a task claimed, members assigned, progress reported with the amount
paid in yuan, a photo uploaded, the task marked done; the community confirms on its own page;
the unit's fulfilment rate on the rates page moves. The same flow again at 390×844. Every step
is read back from the page. Each new page is scanned with axe-core and photographed at 1280 and
390 px into var/screenshots/console/."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
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
    MEMBER_NAME,
    UNIT_NAME,
    District,
    FakeAccess,
    FakeIssuer,
    seed_district,
    served,
    tiny_png,
)
from test_console_browser import CHROMIUM, SERVICES, Visit, World, _ensure_browser, _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(900)]

# Two funded commitments the unit owes: one done at a desktop's width, one at a phone's.
DESK_TASK = "为社区卫生站添置血压计"
PHONE_TASK = "为助老食堂添置消毒柜"


@dataclass
class UnitWorld:
    world: World
    tasks: dict[str, str]  # title → commitment id


async def _seed_unit_tasks(api: Api, d: District, today: Any) -> dict[str, str]:
    """A second agreement, signed, with two funded commitments the unit owes."""
    hospital = api.actor("unit_admin", d.unit_id)
    worker = api.actor("community_admin", d.community_id)

    def item(title: str, days: int, fen: int) -> dict[str, Any]:
        return {
            "title": title,
            "kind": "task",
            "category": "peoples_welfare",
            "obligor_party_id": d.unit_id,
            "beneficiary_party_id": d.community_id,
            "responsible_title": "后勤处处长",
            "deadline": (today + timedelta(days=days)).isoformat(),
            "funds_fen": fen,
            "quantity": 1,
            "quantity_unit": "批",
        }

    proposed = await hospital.post(
        "agreements",
        "/agreements",
        {
            "community_id": d.community_id,
            "unit_id": d.unit_id,
            "term_start": today.isoformat(),
            "term_end": (today + timedelta(days=300)).isoformat(),
            "items": [item(DESK_TASK, 20, 300_000), item(PHONE_TASK, 25, 450_050)],
        },
    )
    agreement_id = proposed["agreement_id"]
    await hospital.post("agreements", f"/agreements/{agreement_id}/signatures", {"version": 1})
    signed = await worker.post(
        "agreements", f"/agreements/{agreement_id}/signatures", {"version": 1}
    )
    return {c["title"]: str(c["commitment_id"]) for c in signed["agreement"]["commitments"]}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def unit_world() -> AsyncIterator[UnitWorld]:
    _ensure_browser()
    axe_path = NODE_MODULES / "axe-core" / "axe.min.js"
    if not axe_path.exists():
        pytest.fail(f"{axe_path} is missing: run `make` (npm ci in services/console)")
    from playwright.async_api import async_playwright

    root = Path(tempfile.mkdtemp(prefix="cobuild-console-unit-"))
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
        tasks = await _seed_unit_tasks(api, district, business_date(start))
        await quiet.wait()
        write_clock_file(clock, start + timedelta(days=5))

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
                    service_urls={n: s["url"] for n, s in info["services"].items()},
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
                        world = World(
                            district, console_url, issuer, access, browser, axe_path.read_text()
                        )
                        yield UnitWorld(world, tasks)
                    finally:
                        await browser.close()
    finally:
        await api.aclose()
        await stack.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def unit_admin(unit_world: UnitWorld) -> AsyncIterator[Visit]:
    world = unit_world.world
    person = world.issuer.add("wang.fang", "王芳")
    world.access.grant(person, "unit_admin", world.district.unit_id, UNIT_NAME)
    visit = await _sign_in(world, "wang.fang")
    yield visit
    await visit.context.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def community(unit_world: UnitWorld) -> AsyncIterator[Visit]:
    world = unit_world.world
    person = world.issuer.add("li.juan", "李娟")
    world.access.grant(person, "community_admin", world.district.community_id, COMMUNITY_NAME)
    visit = await _sign_in(world, "li.juan")
    yield visit
    await visit.context.close()


class PhoneVisit(Visit):
    """A phone's browser: after the screenshots at both widths it goes back to 390×844."""

    async def look(self, name: str) -> None:
        await super().look(name)
        await self.page.set_viewport_size({"width": 390, "height": 844})


async def _shown(page: Any, text: str) -> None:
    """Wait for the text; if it never comes, fail with what the page says instead."""
    try:
        await page.get_by_text(text).wait_for(timeout=15_000)
    except Exception as exc:
        raise AssertionError(
            f"{text!r} not shown: {await page.locator('main').inner_text()}"
        ) from exc


async def _rate(visit: Visit) -> str:
    """The unit's fulfilment rate by count, as its rates page shows it. The page asks the
    ledger for thirteen dates at once; on a loaded CI machine one answer can miss the
    console's upstream timeout and the page says so (an error page, not a figure). That is
    tried again a few times; a page that never shows the figure fails with what it said."""
    page = visit.page
    said = ""
    for _ in range(4):
        await page.goto(visit.world.console_url + "/rates")
        figure = page.locator("[data-rate='fulfilment_rate']")
        if await figure.count():
            return await figure.inner_text()
        said = await page.locator("main").inner_text()
        await asyncio.sleep(2)
    raise AssertionError(f"the rates page shows no fulfilment rate: {said}")


async def test_the_board_groups_what_the_unit_owes(unit_admin: Visit) -> None:
    page = unit_admin.page
    assert await page.locator(".who").inner_text() == f"王芳 · 当前身份：{UNIT_NAME} 共建单位管理员"
    await page.get_by_role("link", name="任务看板").click()
    await page.get_by_role("heading", name="任务看板", level=1).wait_for()
    to_claim = page.locator("section", has=page.get_by_role("heading", name="待认领"))
    for title in (DESK_TASK, PHONE_TASK, "法律咨询进社区"):
        await to_claim.get_by_role("link", name=title).wait_for()
    awaiting = page.locator("section", has=page.get_by_role("heading", name="已完成，待确认"))
    assert await awaiting.locator("li").count() == 2
    assert "组织党员到医院开展政策宣讲" not in await page.content()  # the community owes it
    await unit_admin.look("unit-tasks-board")


async def test_the_rates_page_has_a_chart_and_its_table(unit_admin: Visit) -> None:
    page = unit_admin.page
    await page.get_by_role("link", name="履约情况").click()
    await page.get_by_role("heading", name="本年度履约情况", level=1).wait_for()
    chart = page.get_by_role("img", name="各月末四项比率的折线图", exact=False)
    await chart.wait_for()
    await page.wait_for_function("() => document.querySelector('#rates-chart canvas') !== null")
    table = page.get_by_role("table", name="各月末的比率", exact=False)
    assert await table.locator("tbody tr").count() >= 1
    assert (await _rate(unit_admin)).endswith("%")
    await unit_admin.look("unit-rates")


async def test_the_community_accepts_the_member_report(community: Visit) -> None:
    """The member must serve in a community before the unit can assign them."""
    page = community.page
    await page.goto(community.world.console_url + "/")
    await page.get_by_role("button", name=f"接收{MEMBER_NAME}的报到").click()
    await page.get_by_text(f"已接收{MEMBER_NAME}到本社区报到。").wait_for()


async def _assign(visit: Visit, name: str) -> None:
    """Assign the member; the commitments service learns of an accepted member a moment after
    the points service (it says "not (yet)"), so a refusal of that kind is tried again."""
    page = visit.page
    for _ in range(30):
        await page.get_by_label(name).check()
        await page.get_by_role("button", name="保存指派").click()
        await page.wait_for_load_state()
        if await page.get_by_text("已指派 1 名党员。").count():
            return
        await asyncio.sleep(1)
    raise AssertionError(await page.locator("main").inner_text())


async def _fulfil(
    unit: Visit, community: Visit, title: str, paid: str, shown: str, label: str
) -> None:
    """Claim on the board, assign, report progress with the amount paid, upload a photo,
    mark done; the community confirms; the unit's rate moves."""
    page = unit.page
    before = await _rate(unit)
    await page.goto(unit.world.console_url + "/tasks")
    card = page.locator("li", has=page.get_by_role("link", name=title))
    await card.get_by_role("button", name="认领").click()
    await card.get_by_text(f"已认领“{title}”").wait_for()  # swapped in place by htmx
    assert await card.locator("xpath=ancestor::ul[@aria-live='polite']").count() == 1
    await unit.look(f"unit-task-claimed-{label}")
    await card.get_by_role("link", name="指派党员并报告进度").click()
    await page.get_by_role("heading", name=title, level=1).wait_for()
    assert "已认领" in await page.locator(".facts").inner_text()
    await unit.look(f"unit-task-{label}")
    # 关注 (issue 37): the unit's admin follows the task from its page, in place.
    follow = page.locator("#follow")
    await follow.get_by_role("button", name="关注", exact=True).click()
    await follow.get_by_text("已关注", exact=True).wait_for()
    await follow.get_by_role("button", name="取消关注").wait_for()

    await _assign(unit, MEMBER_NAME)
    assert MEMBER_NAME in await page.locator(".facts").inner_text()

    await page.get_by_label("进度（%）").fill("100")
    await page.get_by_label("已支付金额（元）").fill("1000.005")
    await page.get_by_role("button", name="提交进度").click()
    error = page.locator("#f-paid_yuan-error")
    await error.wait_for()
    assert await error.inner_text() == "金额最多保留两位小数（精确到分）。"
    assert await page.get_by_label("已支付金额（元）").get_attribute("aria-invalid") == "true"
    await unit.look(f"unit-task-progress-error-{label}")
    await page.get_by_label("已支付金额（元）").fill(paid)
    await page.get_by_label("完成情况").fill("已采购并送达，社区卫生站已签收。")
    await page.get_by_role("button", name="提交进度").click()
    ref_error = page.locator("#f-payment_ref-error")
    await ref_error.wait_for()
    assert await ref_error.inner_text() == "已支付金额时，请填写支付凭证号或转账流水号。"
    await page.get_by_label("支付凭证号").fill(f"ZF-2026-{label}")
    await page.get_by_role("button", name="提交进度").click()
    await _shown(page, "已记录进度：100%。")
    assert f"已支付 {shown}" in await page.locator(".facts").inner_text()

    upload = page.get_by_label("工作现场照片")
    assert await upload.get_attribute("capture") == "environment"
    assert await upload.get_attribute("accept") == "image/*"
    await upload.set_input_files(
        {"name": f"{label}现场.png", "mimeType": "image/png", "buffer": tiny_png()}
    )
    await page.get_by_role("button", name="上传", exact=True).click()
    await page.get_by_text(f"“{label}现场.png”已作为佐证上传。").wait_for()
    image = page.get_by_role("img", name=f"佐证照片 {label}现场.png")
    await image.wait_for()
    assert await image.evaluate("img => img.complete && img.naturalWidth") == 24

    await page.get_by_label(f"{MEMBER_NAME}的服务时长（小时）").fill("2.5")
    await page.get_by_role("button", name="标记完成").click()
    await page.get_by_text("已标记完成，等待社区确认或退回。").wait_for()
    assert "已完成，待确认" in await page.locator(".facts").inner_text()
    await unit.look(f"unit-task-done-{label}")

    # The community confirms on its own page, which shows the unit's photo.
    commitment_id = unit.page.url.rstrip("/").split("/")[-1].split("#")[0]
    await community.page.goto(f"{community.world.console_url}/commitments/{commitment_id}")
    await community.page.get_by_role("img", name=f"佐证照片 {label}现场.png").wait_for()
    await community.page.get_by_role("button", name="确认履约").click()
    await community.page.get_by_text("已确认履约，谢谢！").wait_for()

    # The ledger learns of it from the event a moment later: the unit's page shows it.
    for _ in range(60):
        after = await _rate(unit)
        if after != before:
            break
        await asyncio.sleep(1)
    assert after != before, f"the fulfilment rate stayed {before}"
    assert float(after.rstrip("%")) > float(before.rstrip("%"))
    await page.goto(unit.world.console_url + "/tasks")
    assert title not in await page.locator(".board").inner_text()  # fulfilled: off the board


async def test_the_unit_fulfils_a_task_and_its_rate_moves(
    unit_admin: Visit, community: Visit
) -> None:
    await _fulfil(unit_admin, community, DESK_TASK, "3000", "¥3,000.00", "desk")


async def test_the_same_flow_on_a_phone(unit_world: UnitWorld, community: Visit) -> None:
    world = unit_world.world
    context = await world.browser.new_context(
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    visit = PhoneVisit(world, context, await context.new_page())
    try:
        await visit.page.goto(world.console_url + "/")
        await visit.page.get_by_role("link", name="登录").click()
        await visit.page.get_by_label("用户名").fill("wang.fang")
        await visit.page.get_by_label("密码").fill("correct horse")
        await visit.page.get_by_role("button", name="登录").click()
        await visit.page.wait_for_url(world.console_url + "/**")
        await _fulfil(visit, community, PHONE_TASK, "4,500.5", "¥4,500.50", "phone")
    finally:
        await context.close()


async def test_the_unit_offers_edits_and_withdraws_a_resource(
    unit_admin: Visit, community: Visit
) -> None:
    page = unit_admin.page
    today = business_date(datetime.now(UTC)) + timedelta(days=5)
    await page.goto(unit_admin.world.console_url + "/tasks")
    await page.get_by_role("link", name="资源清单").click()
    await page.get_by_role("heading", name="资源清单", level=1).wait_for()
    assert "还没有资源" in await page.get_by_role("table").inner_text()
    await unit_admin.look("unit-resources-empty")

    await page.get_by_label("标题").fill("楼道灯具更换志愿服务")
    await page.get_by_label("类别").select_option(label="幸福小区")
    await page.get_by_label("类型").select_option("task")
    await page.get_by_label("可提供数量").fill("3")
    await page.get_by_label("数量单位").fill("次")
    await page.get_by_label("资金（元）").fill("800.125")
    await page.get_by_label("截止日期").fill((today + timedelta(days=200)).isoformat())
    await page.get_by_label(COMMUNITY_NAME).check()
    await page.get_by_role("button", name="发布资源").click()
    error = page.locator("#f-funds_yuan-error")
    await error.wait_for()
    assert await error.inner_text() == "金额最多保留两位小数（精确到分）。"
    assert await page.get_by_label("标题").input_value() == "楼道灯具更换志愿服务"  # kept
    await unit_admin.look("unit-resources-error")
    await page.get_by_label("资金（元）").fill("800")
    await page.get_by_role("button", name="发布资源").click()
    await page.get_by_role("heading", name="楼道灯具更换志愿服务", level=1).wait_for()
    assert "资源“楼道灯具更换志愿服务”已发布" in await page.locator(".flash").inner_text()
    facts = await page.locator(".facts").inner_text()
    assert "¥800.00" in facts and COMMUNITY_NAME in facts and "第 1 版" in facts
    resource_url = page.url
    matches = page.locator("#matches")
    await matches.get_by_text("老旧小区楼道照明修缮").wait_for()  # the community's need
    await unit_admin.look("unit-resource")
    await _negotiate_from_the_match(unit_admin, community)
    await page.goto(resource_url)

    await page.get_by_label("可提供数量").fill("5")
    await page.get_by_role("button", name="保存为新版本").click()
    await page.get_by_text("已保存为第 2 版").wait_for()
    assert "5 次" in await page.locator(".facts").inner_text()
    assert await page.locator(".history li").count() == 2

    await page.get_by_label("撤回原因").fill("灯具采购计划调整")
    await page.get_by_role("button", name="撤回", exact=True).click()
    await page.get_by_text("资源已撤回。").wait_for()
    assert "已撤回" in await page.locator(".facts").inner_text()
    assert "灯具采购计划调整" in await page.locator(".history").inner_text()
    await page.goto(unit_admin.world.console_url + "/resources?status=withdrawn")
    row = page.get_by_role("row", name="楼道灯具更换志愿服务")
    assert "已撤回" in await row.inner_text()
    await unit_admin.look("unit-resources")


async def _negotiate_from_the_match(unit: Visit, community: Visit) -> None:
    """谈约 from the unit's side: a draft for the matched need, the community's counter seen
    as a diff, both sign; the agreement is listed on the unit's 共建协议 page."""
    page = unit.page
    matches = page.locator("#matches")
    need = await matches.locator(".line-title").first.inner_text()
    await matches.get_by_role("link", name=f"就“{need}”发起协议草案").click()
    await page.get_by_role("heading", name=f"向{COMMUNITY_NAME}发起协议草案").wait_for()
    first = page.locator("fieldset.item").nth(0)
    assert await first.get_by_label("定项目（做什么）").input_value() == need
    await first.get_by_label("责任人（填职务，不填姓名）").fill("后勤处处长")
    await unit.look("unit-agreement-propose")
    await page.get_by_role("button", name="发送草案").click()
    await page.get_by_text("协议草案已发给社区").wait_for()
    agreement_url = page.url

    # The community counters on its own page: a later deadline.
    other = community.page
    await other.goto(agreement_url)
    await other.get_by_role("link", name="提出修改意见").click()
    await other.locator("#items-0-responsible_title").fill("后勤处副处长")
    await other.get_by_role("button", name="发送草案").click()
    await other.get_by_text("修改意见已发给共建单位。").wait_for()

    await page.reload()
    assert "后勤处副处长" in await page.locator(".diff").inner_text()
    await unit.look("unit-agreement-diff")
    await page.get_by_role("button", name="签署第 2 版").click()
    await page.get_by_text("您的签署已记录，等待对方签署。").wait_for()
    await other.reload()
    await other.get_by_role("button", name="签署第 2 版").click()
    await other.get_by_text("签署完成，协议已生效。").wait_for()

    await page.get_by_role("link", name="共建协议").first.click()
    signed = page.get_by_role("table", name=f"与{COMMUNITY_NAME}的共建协议")
    assert await signed.count() >= 1
    assert need in await page.locator("main").inner_text()
    await unit.look("unit-agreements")


async def test_a_community_worker_cannot_open_the_unit_pages(community: Visit) -> None:
    for path in ("/tasks", "/resources", f"/tasks/{'0' * 8}-0000-4000-8000-000000000000"):
        answer = await community.page.goto(community.world.console_url + path)
        assert answer is not None and answer.status == 404, path
