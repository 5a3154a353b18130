"""The workbench in Debian's Chromium (Playwright, headless) against the real services on a
stack of their own: a community worker signs in at the OIDC issuer, reads her to-do with the
data the services hold, accepts a member's report inline, confirms one fulfilment and sends
another back, publishes a need (a bad amount is shown beside its field first), switches role
and signs out. Every page is scanned with axe-core (no serious or critical violation) and
photographed at 1280 and 390 px into var/screenshots/console/.

The issuer and the exchange are the stand-ins of console_support until the embedded provider
and the access service land in the stack."""

from __future__ import annotations

import os
import shutil
import subprocess
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
    PASSWORD,
    UNIT_NAME,
    District,
    FakeAccess,
    FakeIssuer,
    seed_district,
    served,
    tiny_png,
)

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(600)]

CHROMIUM = Path("/usr/bin/chromium")
CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "console"
SERVICES = ("agreements", "commitments", "points", "evaluation", "escalations", "notifications")
WIDTHS = {"1280": (1280, 900), "390": (390, 844)}


def _ensure_browser() -> None:
    """Debian's chromium and a CJK font (without one, Chinese renders as boxes). Installed
    when missing and we are root, as in CI; elsewhere the test says how."""
    missing = [
        pkg
        for pkg, probe in (("chromium", CHROMIUM), ("fonts-noto-cjk", CJK_FONT))
        if not probe.exists()
    ]
    if not missing:
        return
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing]
    if os.geteuid() != 0:
        pytest.skip(
            f"the browser tests need Debian's {' '.join(missing)}: sudo {' '.join(command)}"
        )
    if subprocess.run(command, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, check=False)
        subprocess.run(command, capture_output=True, check=True)


@dataclass
class World:
    district: District
    console_url: str
    issuer: FakeIssuer
    access: FakeAccess
    browser: Any
    axe: str
    api: Any = None  # the scenario's Api with development tokens, for set-up beside the pages


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world() -> AsyncIterator[World]:
    _ensure_browser()
    axe_path = NODE_MODULES / "axe-core" / "axe.min.js"
    if not axe_path.exists():
        pytest.fail(f"{axe_path} is missing: run `make` (npm ci in services/console)")
    from playwright.async_api import async_playwright

    root = Path(tempfile.mkdtemp(prefix="cobuild-console-"))
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
        # Five days on: the community's first commitment is two days late.
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
                        yield World(
                            district,
                            console_url,
                            issuer,
                            access,
                            browser,
                            axe_path.read_text(),
                            api,
                        )
                    finally:
                        await browser.close()
    finally:
        await api.aclose()
        await stack.stop()
        shutil.rmtree(root, ignore_errors=True)


class Visit:
    """One person's browser: pages, the CSP kept (no bypass), console errors collected."""

    def __init__(self, world: World, context: Any, page: Any) -> None:
        self.world = world
        self.context = context
        self.page = page
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _console(self, message: Any) -> None:
        # Only the console's pages count (the issuer's sign-in page is not ours), and a page
        # answered 404 or 422 on purpose (the error convention) is not a failed resource.
        url = message.location.get("url", "")
        if message.type != "error" or not url.startswith(self.world.console_url):
            return
        if message.text.startswith("Failed to load resource") and url == self.page.url:
            return
        self.errors.append(f"{message.text} ({url})")

    async def look(self, name: str) -> None:
        """Screenshots at both widths, then axe at each: no serious or critical violation,
        and no console error (a CSP violation is one)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for label, (width, height) in WIDTHS.items():
            await self.page.set_viewport_size({"width": width, "height": height})
            await self.page.screenshot(
                path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True
            )
            await self.page.evaluate(self.world.axe + "\n;true")
            result = await self.page.evaluate(
                "async () => { const r = await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']});"
                " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
                " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})); }"
            )
            bad = [v for v in result if v["impact"] in ("serious", "critical")]
            assert not bad, f"{name} at {label} px: {bad}"
        await self.page.set_viewport_size({"width": 1280, "height": 900})
        assert not self.errors, f"{name}: console errors {self.errors}"


async def _visit(world: World) -> Visit:
    context = await world.browser.new_context(
        locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    return Visit(world, context, await context.new_page())


async def _sign_in(world: World, username: str) -> Visit:
    visit = await _visit(world)
    page = visit.page
    await page.goto(world.console_url + "/")
    await page.get_by_role("link", name="登录").click()
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(world.console_url + "/**")
    return visit


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def worker(world: World) -> AsyncIterator[Visit]:
    person = world.issuer.add("li.juan", "李娟")
    world.access.grant(person, "community_admin", world.district.community_id, COMMUNITY_NAME)
    visit = await _sign_in(world, "li.juan")
    yield visit
    await visit.context.close()


async def test_the_welcome_page_invites_to_sign_in(world: World) -> None:
    visit = await _visit(world)
    try:
        await visit.page.goto(world.console_url + "/")
        assert await visit.page.title() == "登录 · 共建工作台"
        await visit.look("welcome")
    finally:
        await visit.context.close()


async def test_the_worker_sees_her_to_do_from_the_services(worker: Visit) -> None:
    page = worker.page
    d = worker.world.district
    assert page.url == worker.world.console_url + "/"
    header = page.locator(".who")
    assert await header.inner_text() == f"李娟 · 当前身份：{COMMUNITY_NAME} 社区工作者"

    confirm = page.locator("section", has=page.get_by_role("heading", name="待我确认的履约"))
    assert await confirm.locator("li").count() == 2
    await confirm.get_by_role("link", name="为助老食堂捐赠一批餐具").wait_for()
    assert f"履约方：{UNIT_NAME}" in await confirm.inner_text()

    owed = page.locator("section", has=page.get_by_role("heading", name="本社区应履行的承诺"))
    lines = owed.locator("li")
    assert await lines.count() == 2
    assert "组织党员到医院开展政策宣讲" in await lines.nth(0).inner_text()  # overdue first
    assert "逾期 2 天" in await lines.nth(0).inner_text()
    assert "提供社区活动室作为健康讲座场地" in await lines.nth(1).inner_text()
    assert "还剩 7 天" in await lines.nth(1).inner_text()
    assert "法律咨询进社区" not in await page.content()  # the unit owes that one

    drafts = page.locator("section", has=page.get_by_role("heading", name="待我答复的协议草案"))
    await drafts.get_by_role("link", name=f"与{UNIT_NAME}的共建协议").wait_for()

    reports = page.locator("#reports")
    assert MEMBER_NAME in await reports.inner_text()
    assert f"工作单位：{UNIT_NAME}" in await reports.inner_text()
    assert d.member_id
    await worker.look("todo")


async def test_the_worker_accepts_a_report_in_place(worker: Visit) -> None:
    page = worker.page
    await page.goto(worker.world.console_url + "/")
    await page.get_by_role("button", name=f"接收{MEMBER_NAME}的报到").click()
    line = page.locator(f"#report-{worker.world.district.member_id}")
    await line.get_by_text(f"已接收{MEMBER_NAME}到本社区报到。").wait_for()
    assert await page.locator("#reports [aria-live='polite']").count() == 1
    await worker.look("todo-report-accepted")
    await page.reload()
    assert MEMBER_NAME not in await page.locator("#reports").inner_text()


async def test_the_worker_confirms_a_fulfilment(worker: Visit) -> None:
    page = worker.page
    await page.goto(worker.world.console_url + "/")
    await page.get_by_role("link", name="为助老食堂捐赠一批餐具").click()
    await page.get_by_role("heading", name="确认履约或退回").wait_for()
    assert "¥12,000.00" in await page.locator(".facts").inner_text()
    image = page.get_by_role("img", name="佐证照片 现场照片.png")
    await image.wait_for()
    assert await image.evaluate("img => img.complete && img.naturalWidth") == 24
    await worker.look("commitment-to-confirm")
    await page.get_by_role("button", name="确认履约").click()
    await page.get_by_text("已确认履约，谢谢！").wait_for()
    assert "已履约" in await page.locator(".facts").inner_text()
    assert await page.get_by_role("button", name="确认履约").count() == 0
    await worker.look("commitment-confirmed")


async def test_the_worker_sends_a_fulfilment_back_with_a_reason(worker: Visit) -> None:
    page = worker.page
    await page.goto(f"{worker.world.console_url}/commitments/{worker.world.district.to_refuse}")
    await page.get_by_role("button", name="退回").click()  # no reason given
    error = page.locator("#reason-error")
    await error.wait_for()
    assert await error.inner_text() == "请写明退回原因，方便对方整改。"
    assert await page.get_by_label("退回原因").get_attribute("aria-invalid") == "true"
    await worker.look("commitment-refuse-error")
    await page.get_by_label("退回原因").fill("照片看不清义诊现场，请补充签到表。")
    await page.get_by_role("button", name="退回").click()
    await page.get_by_text("已退回，并附上退回原因。").wait_for()
    assert "进行中" in await page.locator(".facts").inner_text()
    assert "照片看不清义诊现场" in await page.locator(".history").inner_text()


async def test_the_worker_publishes_a_need_in_yuan(worker: Visit) -> None:
    page = worker.page
    await page.goto(worker.world.console_url + "/needs")
    table = page.get_by_role("table")
    assert "老旧小区楼道照明修缮" in await table.inner_text()
    assert "¥5,000.00" in await table.inner_text()
    await worker.look("needs")
    await page.get_by_label("标题").fill("为独居老人安装烟雾报警器")
    await page.locator("#publish").get_by_label("类别").select_option(label="幸福小区")
    await page.locator("#publish").get_by_label("类型").select_option("task")
    await page.get_by_label("数量", exact=True).fill("30")
    await page.get_by_label("数量单位").fill("户")
    await page.get_by_label("资金（元）").fill("3600.125")
    await page.get_by_label("期望完成日期").fill("2099-12-31")
    await page.get_by_role("button", name="发布", exact=True).click()
    funds_error = page.locator("#f-funds_yuan-error")
    await funds_error.wait_for()
    assert await funds_error.inner_text() == "金额最多保留两位小数（精确到分）。"
    assert await page.get_by_label("标题").input_value() == "为独居老人安装烟雾报警器"  # kept
    await worker.look("needs-error")
    await page.get_by_label("资金（元）").fill("3600.50")
    await page.get_by_role("button", name="发布", exact=True).click()
    await page.get_by_text("需求“为独居老人安装烟雾报警器”已发布。").wait_for()
    row = page.get_by_role("row", name="为独居老人安装烟雾报警器")
    assert "¥3,600.50" in await row.inner_text()


async def test_the_service_refusal_shows_beside_its_field(worker: Visit) -> None:
    """A date the form lets through but the service refuses: its 422 names the field, and
    the page says it in Chinese beside it."""
    page = worker.page
    await page.goto(worker.world.console_url + "/needs")
    await page.get_by_label("标题").fill("过期的需求")
    await page.locator("#publish").get_by_label("类别").select_option(label="幸福小区")
    await page.locator("#publish").get_by_label("类型").select_option("task")
    await page.get_by_label("数量单位").fill("项")
    await page.evaluate("() => document.getElementById('f-wanted_by').removeAttribute('min')")
    await page.get_by_label("期望完成日期").fill("2001-01-01")
    await page.get_by_role("button", name="发布", exact=True).click()
    error = page.locator("#f-wanted_by-error")
    await error.wait_for()
    assert await error.inner_text() == "日期不能早于今天。"


async def test_a_page_outside_her_reach_is_not_found(worker: Visit) -> None:
    page = worker.page
    answer = await page.goto(
        f"{worker.world.console_url}/commitments/00000000-0000-4000-8000-00000000dead"
    )
    assert answer is not None and answer.status == 404
    assert await page.get_by_role("heading", level=1).inner_text() == "未找到"
    await worker.look("not-found")


async def test_the_draft_page_lets_her_sign(worker: Visit) -> None:
    page = worker.page
    await page.goto(f"{worker.world.console_url}/agreements/{worker.world.district.draft_id}")
    assert "暑期青少年急救培训" in await page.get_by_role("table").inner_text()
    await worker.look("agreement-draft")


async def _follows(world: World, username: str, kind: str, target_id: str) -> bool:
    """Whether the notifications service says the person follows it (the button's source)."""
    person = world.issuer.people[username]
    grant = next(g for g in world.access.grants if g.subject == person.sub)
    token = world.access._mint(person.sub, grant.role, grant.party_id, None)
    answer = await world.api.request(
        "notifications", "GET", f"/follows/{kind}/{target_id}", token=token
    )
    return bool(answer.json()["following"])


async def test_she_follows_and_unfollows_a_need_an_agreement_and_a_commitment(
    worker: Visit,
) -> None:
    """关注 (issue 37): the button under each page's title shows the state; htmx changes it in
    place (the focus stays on the button), and without JavaScript the same form posts and the
    page comes back saying what happened. The notifications service keeps what she follows."""
    page, w = worker.page, worker.world
    d = w.district
    await page.goto(w.console_url + "/needs")
    await page.get_by_role("link", name="老旧小区楼道照明修缮").click()
    await page.get_by_role("heading", name="老旧小区楼道照明修缮", level=1).wait_for()
    need_id = page.url.rstrip("/").split("/")[-1]
    box = page.locator("#follow")
    assert await box.get_attribute("aria-live") == "polite"
    await box.get_by_role("button", name="关注", exact=True).click()
    await box.get_by_text("已关注", exact=True).wait_for()  # swapped in place
    assert "已关注，有变化时会通过通知告诉你。" in await box.inner_text()
    await page.wait_for_function(  # htmx focuses the new button once the swap settles
        "() => document.activeElement && document.activeElement.textContent.trim() === '取消关注'"
    )
    assert await _follows(w, "li.juan", "need", need_id)
    await worker.look("need-followed")
    await page.reload()
    await box.get_by_role("button", name="取消关注").click()
    await box.get_by_role("button", name="关注", exact=True).wait_for()
    assert "已取消关注。" in await box.inner_text()
    assert not await _follows(w, "li.juan", "need", need_id)

    # Without JavaScript: the same form, posted by the browser; the page comes back.
    plain = await w.browser.new_context(locale="zh-CN", java_script_enabled=False)
    try:
        await plain.add_cookies(await worker.context.cookies())
        bare = await plain.new_page()
        await bare.goto(f"{w.console_url}/agreements/{d.draft_id}")
        await bare.locator("#follow").get_by_role("button", name="关注", exact=True).click()
        await bare.wait_for_url(f"{w.console_url}/agreements/{d.draft_id}")
        assert "已关注，有变化时会通过通知告诉你。" in await bare.locator(".flash").inner_text()
        await bare.locator("#follow").get_by_role("button", name="取消关注").wait_for()
    finally:
        await plain.close()
    assert await _follows(w, "li.juan", "agreement", d.draft_id)
    await page.goto(f"{w.console_url}/agreements/{d.draft_id}")
    await page.locator("#follow").get_by_text("已关注", exact=True).wait_for()
    await worker.look("agreement-followed")

    await page.goto(f"{w.console_url}/commitments/{d.owed_soon}")
    await page.locator("#follow").get_by_role("button", name="关注", exact=True).click()
    await page.locator("#follow").get_by_text("已关注", exact=True).wait_for()
    assert await _follows(w, "li.juan", "commitment", d.owed_soon)
    await worker.look("commitment-followed")


async def test_a_person_with_two_roles_switches_and_signs_out(world: World) -> None:
    person = world.issuer.add("zhou.two", "周敏")
    world.access.grant(person, "community_admin", world.district.community_id, COMMUNITY_NAME)
    world.access.grant(person, "unit_admin", world.district.unit_id, UNIT_NAME)
    visit = await _sign_in(world, "zhou.two")
    page = visit.page
    try:
        await page.get_by_role("heading", name="切换身份").wait_for()
        assert await page.locator(".who").inner_text() == "周敏 · 尚未选择身份"
        await visit.look("roles")
        await page.get_by_role("button", name=f"（{UNIT_NAME} 共建单位管理员）").click()
        await page.get_by_text(f"已切换为{UNIT_NAME}共建单位管理员。").wait_for()
        assert (
            await page.locator(".who").inner_text()
            == f"周敏 · 当前身份：{UNIT_NAME} 共建单位管理员"
        )
        owed = page.locator("section", has=page.get_by_role("heading", name="本单位应履行的承诺"))
        assert await owed.count() == 1  # the unit's own list (its items fall due later)
        assert await page.locator("#reports").count() == 0  # reports are the community's
        await visit.look("todo-unit")
        await page.get_by_role("button", name="退出登录").click()
        await page.get_by_role("heading", name="您已退出登录").wait_for()
        assert world.issuer.ended_sessions, "the provider's session was not ended"
        await visit.look("signed-out")
        await page.goto(world.console_url + "/needs")
        assert "/authorize" in page.url  # signed out: the next page asks to sign in again
    finally:
        await visit.context.close()


async def test_a_whistle_goes_to_the_department_which_responds_and_resolves_it(
    world: World, worker: Visit
) -> None:
    """吹哨报到 in the workbench: the worker raises a matter with a photo; the district's
    routing table sends it to 区城管局, whose administrator responds and resolves it with a
    photo of the repair; the worker confirms; the street sees it in its rates."""
    d = world.district
    district = world.api.actor("district_admin", d.district_id)
    department = await district.post(
        "agreements",
        "/parties",
        {"kind": "unit", "name": "区城管局", "code": "G1", "parent_id": d.district_id,
         "unit_type": "government_office"},
    )  # fmt: skip
    department_id = str(department["party_id"])
    await Quiescence(world.api, world.api.tokens.token("operator", d.district_id)).wait()
    await district.put(
        "escalations",
        f"/districts/{d.district_id}/routing",
        {"rules": [{"department_id": department_id, "category": "municipal_facilities"}],
         "limits": [{"urgency": "normal", "respond": "1d", "resolve": "5d"}],
         "note": "市政设施归区城管局"},
    )  # fmt: skip

    page = worker.page
    await page.goto(world.console_url + "/")
    await page.get_by_role("link", name="吹哨报到").click()
    await page.get_by_role("heading", name="吹哨报到", level=1).wait_for()
    await page.get_by_role("button", name="吹哨").click()  # nothing filled in
    await page.locator("#f-title-error").wait_for()
    assert await page.locator("#f-category-error").inner_text() == "此项必填。"
    await worker.look("whistles-error")
    await page.get_by_label("什么问题").fill("三号楼路灯不亮")
    await page.get_by_label("事项类别").select_option(label="市政设施（路灯、井盖、人行道）")
    await page.get_by_label("详细说明").fill("三号楼前两盏路灯一周不亮，老人晚上出行不便。")
    await page.get_by_label("现场照片").set_input_files(
        {"name": "路灯.png", "mimeType": "image/png", "buffer": tiny_png()}
    )
    await page.get_by_role("button", name="吹哨").click()
    await page.get_by_text("已吹哨：“三号楼路灯不亮”已交给区城管局。").wait_for()
    assert "等待响应" in await page.locator(".facts").inner_text()
    await page.get_by_role("img", name="照片 路灯.png").wait_for()
    whistle_url = page.url.split("#")[0]
    await worker.look("whistle-raised")

    person = world.issuer.add("zhao.gang", "赵刚")
    world.access.grant(person, "unit_admin", department_id, "区城管局")
    officer = await _sign_in(world, "zhao.gang")
    try:
        desk = officer.page
        await desk.get_by_role("link", name="吹哨报到").click()
        queue = desk.get_by_role("table", name="待我方处理（按剩余时间排序）", exact=False)
        await queue.get_by_role("link", name="三号楼路灯不亮").click()
        await desk.get_by_label("谁来处理").fill("城管执法中队两人")
        await desk.get_by_role("button", name="响应", exact=True).click()
        await desk.get_by_text("已响应（报到），发起方可以看到谁来处理。").wait_for()
        await desk.get_by_role("button", name="报告已办结").click()  # no photo yet
        await desk.locator("#f-file-error").wait_for()
        await desk.get_by_label("处理后照片").set_input_files(
            {"name": "修好了.png", "mimeType": "image/png", "buffer": tiny_png()}
        )
        await desk.get_by_role("button", name="上传", exact=True).click()
        await desk.get_by_text("“修好了.png”已作为佐证上传。").wait_for()
        await desk.get_by_label("完成情况").fill("已更换两盏灯具，当晚恢复照明。")
        await desk.get_by_role("button", name="报告已办结").click()
        await desk.get_by_text("已报告办结，等待发起方确认或退回。").wait_for()
        await officer.look("whistle-resolved")
    finally:
        await officer.context.close()

    await page.goto(whistle_url)
    facts = await page.locator(".facts").inner_text()
    assert "已报办结，待确认" in facts, facts
    await page.get_by_role("button", name="确认已解决").click()
    await page.get_by_text("已确认，事项办结。").wait_for()
    assert "已确认办结" in await page.locator(".facts").inner_text()
    history = await page.locator(".history").inner_text()
    for step in ("发起", "已交办", "已响应（报到）", "报告已办结", "确认办结"):
        assert step in history, history

    person = world.issuer.add("zhou.jie", "周洁")
    world.access.grant(person, "street_admin", d.street_id, "和平街道")
    street = await _sign_in(world, "zhou.jie")
    try:
        await street.page.goto(world.console_url + "/whistle-rates")
        await street.page.get_by_role("heading", name="吹哨报到办理情况", level=1).wait_for()
        row = await street.page.get_by_role("row", name="区城管局").inner_text()
        assert row.split("\t")[1].strip() == "1", row  # raised: one
        await street.look("whistle-rates")
    finally:
        await street.context.close()
