"""The community worker's remaining pages of the workbench (issue 34, items 2, 3, 5 and 6) in
Debian's Chromium against the real services: the needs list's filters, edit and withdraw;
the Excel import with a bad row (nothing imported), fixed, and re-imported (nothing
changes); a need's suggested units, a draft proposed, the unit's counter seen as a diff,
countered back and signed; reports accepted in bulk and the member list; an activity
published, closed with attendance confirmed in bulk, its check-in QR code; micro-wishes
confirmed; 代录 of a report, a sign-up and a wish, each in the access audit; another
community's pages not found. Each page is scanned with axe and photographed at 1280 and
390 px into var/screenshots/console/."""

from __future__ import annotations

import asyncio
import io
import os
import re
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
    UNIT_NAME,
    District,
    FakeAccess,
    FakeIssuer,
    seed_district,
    served,
)
from openpyxl import Workbook, load_workbook
from test_console_browser import CHROMIUM, SERVICES, Visit, _ensure_browser, _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(900)]

SERVING = "王建国"  # a member serving in the community, signed up and checked in
ASKING = ("赵丽", "孙强")  # two more members asking to report


@dataclass
class Extra:
    other_community: str = ""
    other_need: str = ""
    other_activity: str = ""
    serving_member: str = ""
    activity_id: str = ""
    wish_id: str = ""
    need_to_edit: str = ""
    need_to_withdraw: str = ""


@dataclass
class World:
    district: District
    extra: Extra
    console_url: str
    issuer: FakeIssuer
    access: FakeAccess
    browser: Any
    axe: str
    api: Api
    public_url: str


async def _seed_more(api: Api, quiet: Quiescence, d: District, now: datetime) -> Extra:
    e = Extra()
    today = business_date(now)
    district = api.actor("district_admin", d.district_id)
    other = await district.post(
        "agreements",
        "/parties",
        {"kind": "community", "name": "安居苑社区", "code": "C2", "parent_id": d.street_id},
    )
    e.other_community = str(other["party_id"])
    await quiet.wait()
    worker = api.actor("community_admin", d.community_id)
    stranger = api.actor("community_admin", e.other_community)
    hospital = api.actor("unit_admin", d.unit_id)
    need = await stranger.post(
        "agreements",
        "/needs",
        {"community_id": e.other_community, "category": "happy_compound", "kind": "task",
         "title": "别处的需求", "quantity": 1, "quantity_unit": "项",
         "wanted_by": (today + timedelta(days=30)).isoformat()},
    )  # fmt: skip
    e.other_need = str(need["need_id"])
    other_activity = await stranger.post(
        "points",
        "/activities",
        {"community_id": e.other_community, "title": "别处的活动", "category": "happy_compound",
         "starts_at": (now + timedelta(days=3)).isoformat(),
         "ends_at": (now + timedelta(days=3, hours=2)).isoformat(), "place": "活动室",
         "capacity": 10},
    )  # fmt: skip
    e.other_activity = str(other_activity["activity_id"])
    # The unit offers what the community's needs ask for: the matcher suggests it.
    await hospital.post(
        "agreements",
        "/resources",
        {"unit_id": d.unit_id, "category": "happy_compound", "kind": "task",
         "title": "医院后勤维修队", "capacity": 5, "capacity_unit": "项", "funds_fen": 1_000_000,
         "available_from": today.isoformat(),
         "available_until": (today + timedelta(days=200)).isoformat()},
    )  # fmt: skip
    # Members: two more asking to report, one serving (signed up and checked in).
    for name, number in zip(ASKING, ("13900000001", "13900000002"), strict=True):
        m = await hospital.post(
            "points", "/members",
            {"name": name, "phone": number, "unit_id": d.unit_id, "community_id": d.community_id},
        )  # fmt: skip
        await api.actor("member", m["member_id"]).post(
            "points", f"/members/{m['member_id']}/report", {}
        )
    serving = await hospital.post(
        "points", "/members",
        {"name": SERVING, "phone": "13900000003", "unit_id": d.unit_id,
         "community_id": d.community_id},
    )  # fmt: skip
    e.serving_member = str(serving["member_id"])
    me = api.actor("member", e.serving_member)
    await me.post("points", f"/members/{e.serving_member}/report", {})
    await worker.post("points", f"/members/{e.serving_member}/report/accept", None)
    activity = await worker.post(
        "points",
        "/activities",
        {"community_id": d.community_id, "title": "楼道清扫志愿活动", "category": "happy_compound",
         "starts_at": (now - timedelta(hours=1)).isoformat(),
         "ends_at": (now + timedelta(hours=2)).isoformat(), "place": "3号楼", "capacity": 20},
    )  # fmt: skip
    e.activity_id = str(activity["activity_id"])
    await me.post("points", f"/activities/{e.activity_id}/sign-ups", None)
    await me.post("points", f"/activities/{e.activity_id}/check-in",
                  {"code": activity["check_in_code"]})  # fmt: skip
    wish = await worker.post(
        "points", "/wishes",
        {"community_id": d.community_id, "title": "给独居老人修一台收音机", "description": ""},
    )  # fmt: skip
    e.wish_id = str(wish["wish_id"])
    await me.post("points", f"/wishes/{e.wish_id}/claim", None)
    await me.post("points", f"/wishes/{e.wish_id}/done", None)
    listed = await worker.get("agreements", "/needs", community_id=d.community_id)
    by_title = {n["title"]: str(n["need_id"]) for n in listed["items"]}
    e.need_to_edit = by_title["老旧小区楼道照明修缮"]
    e.need_to_withdraw = by_title["周末儿童课业辅导志愿者"]
    await quiet.wait()
    return e


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world() -> AsyncIterator[World]:
    _ensure_browser()
    axe_path = NODE_MODULES / "axe-core" / "axe.min.js"
    if not axe_path.exists():
        pytest.fail(f"{axe_path} is missing: run `make` (npm ci in services/console)")
    from playwright.async_api import async_playwright

    root = Path(tempfile.mkdtemp(prefix="cobuild-console-community-"))
    os.chmod(root, 0o755)
    clock = root / "clock.txt"
    start = datetime.now(UTC)
    write_clock_file(clock, start)
    config = StackConfig.from_env(
        {"COBUILD_PROVIDER": "0"},
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
        later = start + timedelta(days=5)
        write_clock_file(clock, later)
        extra = await _seed_more(api, quiet, district, later)
        issuer = FakeIssuer()
        access = FakeAccess.with_dev_keys(
            issuer, Path(info["keys"]["private_key"]).parent, info["keys"]["kid"]
        )
        async with served(issuer.app()) as issuer_url:
            issuer.url = issuer_url
            async with served(access.app()) as access_url:
                port = free_port()
                # The address phones reach: sign-in redirects and QR codes use it.
                public_url = f"http://127.0.0.1:{port}"
                settings = ConsoleSettings(
                    port=port,
                    public_url=public_url,
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
                        yield World(district, extra, console_url, issuer, access, browser,
                                    axe_path.read_text(), api, public_url)  # fmt: skip
                    finally:
                        await browser.close()
    finally:
        await api.aclose()
        await stack.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def worker(world: World) -> AsyncIterator[Visit]:
    person = world.issuer.add("wang.fang", "王芳")
    world.access.grant(person, "community_admin", world.district.community_id, COMMUNITY_NAME)
    visit = await _sign_in(world, "wang.fang")  # type: ignore[arg-type]
    yield visit
    await visit.context.close()


async def test_the_needs_list_keeps_its_filters_in_the_url_and_a_need_is_edited_and_withdrawn(
    worker: Visit,
) -> None:
    page, w = worker.page, worker.world
    await page.goto(w.console_url + "/needs")
    await page.get_by_label("类别", exact=True).first.select_option(label="幸福小区")
    await page.locator("#filter-sort").select_option(label="资金从多到少")
    await page.get_by_role("button", name="筛选").click()
    await page.wait_for_url("**/needs?category=happy_compound&sort=-funds")
    assert await page.locator("#filter-category").input_value() == "happy_compound"
    caption = await page.locator("#needs-caption").inner_text()
    assert caption.startswith("共 2 条需求") and "幸福小区" in caption
    await worker.look("needs-filtered")
    await page.goto(w.console_url + "/needs?kind=venue")
    assert "没有符合筛选条件的需求" in await page.get_by_role("table").inner_text()

    await page.goto(f"{w.console_url}/needs/{w.extra.need_to_edit}")
    await page.get_by_role("heading", name="老旧小区楼道照明修缮", level=1).wait_for()
    edit = page.locator("#edit")
    assert await edit.get_by_label("资金（元）").input_value() == "5000.00"
    await edit.get_by_label("资金（元）").fill("6800.5")
    await edit.get_by_label("标题").fill("老旧小区楼道照明修缮（含5栋）")
    await edit.get_by_role("button", name="保存为新版本").click()
    await page.get_by_text("已保存为第 2 版，之前的版本保留在下方。").wait_for()
    assert "¥6,800.50" in await page.locator(".facts").inner_text()
    history = await page.locator(".history").inner_text()
    assert "发布第 2 版" in history and "发布第 1 版" in history
    assert "¥5,000.00" in history  # the first version stays readable
    await worker.look("need")

    await page.goto(f"{w.console_url}/needs/{w.extra.need_to_withdraw}")
    await page.get_by_text("撤回需求…").click()
    await page.get_by_label("撤回原因").fill("已由社区志愿者承担")
    await page.get_by_role("button", name="撤回", exact=True).click()
    await page.get_by_text("需求已撤回。").wait_for()
    assert "已撤回" in await page.locator(".facts").inner_text()
    assert "已由社区志愿者承担" in await page.locator(".history").inner_text()


def _sheet(rows: list[list[Any]], header: list[str]) -> bytes:
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
    await page.goto(console_url + "/needs/import")
    await page.get_by_label("需求清单文件（XLSX 或 CSV）").set_input_files(
        {"name": name, "mimeType": "application/octet-stream", "buffer": content}
    )
    await page.get_by_role("button", name="导入", exact=True).click()
    await page.locator("#job .job-state .note").wait_for(timeout=30_000)


async def _need_count(page: Any, console_url: str) -> int:
    await page.goto(console_url + "/needs")
    caption = await page.locator("#needs-caption").inner_text()
    return int(re.findall(r"\d+", caption)[0])


async def test_an_excel_import_with_a_bad_row_imports_nothing_then_all_and_again_nothing(
    worker: Visit,
) -> None:
    page, w = worker.page, worker.world
    before = await _need_count(page, w.console_url)
    await page.goto(w.console_url + "/needs/import")
    await worker.look("needs-import")
    async with page.expect_download() as got:
        await page.get_by_role("link", name="下载导入模板").click()
    template = await _workbook(got)
    header = [c.value for c in template.worksheets[0][1]]
    assert header[:3] == ["标题", "类别", "类型"] and "资金（元）" in header
    wanted = (business_date(datetime.now(UTC)) + timedelta(days=60)).isoformat()
    good = ["小区健身器材维护", "幸福小区", "实事", 2, "套", "1200.50", wanted, 300, "公开", ""]
    bad = ["社区食堂餐桌更换", "幸福小区", "实事", 10, "张", "800", "下个月", 80, "公开", ""]
    await _upload(page, w.console_url, "需求清单.xlsx", _sheet([good, bad], header))
    state = page.locator("#job")
    assert "未导入任何需求" in await state.inner_text()
    error_row = page.get_by_role("row", name="第 3 行")
    assert "期望完成日期" in await error_row.inner_text()
    assert "请输入日期" in await error_row.inner_text() or "日期" in await error_row.inner_text()
    async with page.expect_download() as got:
        await page.get_by_role("link", name="下载问题清单（Excel）").click()
    report = (await _workbook(got)).worksheets[0]
    assert [c.value for c in report[2]][:2] == [3, "期望完成日期"]
    await worker.look("needs-import-errors")
    assert await _need_count(page, w.console_url) == before  # all or nothing

    bad[6] = wanted
    fixed = _sheet([good, bad], header)
    await _upload(page, w.console_url, "需求清单.xlsx", fixed)
    assert "已导入并发布 2 条需求" in await page.locator("#job").inner_text()
    await worker.look("needs-import-done")
    assert await _need_count(page, w.console_url) == before + 2
    assert "社区食堂餐桌更换" in await page.get_by_role("table").inner_text()

    await _upload(page, w.console_url, "需求清单（再次）.xlsx", fixed)
    assert "没有新内容" in await page.locator("#job").inner_text()
    assert await _need_count(page, w.console_url) == before + 2


async def test_a_draft_to_a_suggested_unit_is_countered_diffed_and_signed(worker: Visit) -> None:
    page, w = worker.page, worker.world
    d = w.district
    await page.goto(f"{w.console_url}/needs/{w.extra.need_to_edit}")
    matches = page.locator("#matches")
    assert UNIT_NAME in await matches.inner_text()
    assert "与本社区结对" in await matches.inner_text()  # the reasons, in Chinese
    await page.get_by_role("link", name=f"向{UNIT_NAME}发起协议草案").click()
    await page.get_by_role("heading", name=f"向{UNIT_NAME}发起协议草案").wait_for()
    first = page.locator("fieldset.item").nth(0)
    assert (
        await first.get_by_label("定项目（做什么）").input_value()
        == "老旧小区楼道照明修缮（含5栋）"
    )
    await first.get_by_label("责任人（填职务，不填姓名）").fill("后勤处处长")
    await first.get_by_label("资金（元）").fill("abc")
    await page.get_by_role("button", name="发送草案").click()
    await page.locator("#items-0-funds_yuan-error").wait_for()
    await worker.look("agreement-propose-error")
    await page.locator("#items-0-funds_yuan").fill("6800.50")
    second = page.locator("fieldset.item").nth(1)
    await second.get_by_label("定项目（做什么）").fill("提供社区议事厅作为医院宣讲场地")
    await second.get_by_label("由谁完成").select_option(label=COMMUNITY_NAME)
    await second.get_by_label("责任人（填职务，不填姓名）").fill("社区书记")
    await second.locator("[name='items-1-deadline']").fill(
        (business_date(datetime.now(UTC)) + timedelta(days=90)).isoformat()
    )
    await second.locator("[name='items-1-category']").select_option("happy_compound")
    await page.get_by_role("button", name="发送草案").click()
    await page.get_by_text("协议草案已发给共建单位").wait_for()
    agreement_id = page.url.rsplit("/", 1)[1]
    assert "后勤处处长" in await page.get_by_role("table").inner_text()

    # The unit answers with more funds and one more item.
    hospital = w.api.actor("unit_admin", d.unit_id)
    current = await hospital.get("agreements", f"/agreements/{agreement_id}")
    items = [{k: v for k, v in i.items() if v is not None} for i in current["rounds"][-1]["items"]]
    items[0]["funds_fen"] = 900_000
    items.append({**{k: v for k, v in items[1].items() if k != "commitment_id"},
                  "title": "医院专家每月一次健康讲座", "obligor_party_id": d.unit_id,
                  "beneficiary_party_id": d.community_id, "responsible_title": "院办主任"})  # fmt: skip
    await hospital.post(
        "agreements",
        f"/agreements/{agreement_id}/counters",
        {"counters_version": 1, "term_start": current["rounds"][-1]["term_start"],
         "term_end": current["rounds"][-1]["term_end"], "items": items},
    )  # fmt: skip
    await page.reload()
    diff = page.locator(".diff")
    text = await diff.inner_text()
    assert "第 1 版到第 2 版的变化" in text
    assert "新增" in text and "医院专家每月一次健康讲座" in text
    assert "¥6,800.50" in text and "¥9,000.00" in text
    await worker.look("agreement-diff")

    await page.get_by_role("link", name="提出修改意见").click()
    await page.locator("#items-2-title").fill("医院专家每季度一次健康讲座")
    await page.get_by_role("button", name="发送草案").click()
    await page.get_by_text("修改意见已发给共建单位。").wait_for()
    assert "每季度" in await page.locator(".diff").inner_text()
    await hospital.post("agreements", f"/agreements/{agreement_id}/signatures", {"version": 3})
    await page.reload()
    await page.get_by_role("button", name="签署第 3 版").click()
    await page.get_by_text("签署完成，协议已生效。").wait_for()

    await page.goto(w.console_url + "/agreements")
    signed = page.get_by_role("table", name=f"与{UNIT_NAME}的共建协议")
    assert await signed.count() >= 1
    body = await page.locator("main").inner_text()
    assert "医院专家每季度一次健康讲座" in body and "后勤处处长" in body
    await worker.look("agreements")


async def test_reports_are_accepted_in_bulk_and_the_members_listed(worker: Visit) -> None:
    page, w = worker.page, worker.world
    await page.goto(w.console_url + "/members")
    reports = page.locator("#reports")
    for name in ASKING:
        await reports.get_by_label(name).check()
    await worker.look("members")
    await reports.get_by_role("button", name="接收所选报到", exact=True).click()
    await page.get_by_text("已接收 2 名党员报到。").wait_for()
    serving = await page.get_by_role("table").inner_text()
    assert all(n in serving for n in (*ASKING, SERVING)) and UNIT_NAME in serving


async def test_an_activity_is_published_closed_with_attendance_and_shows_its_qr(
    worker: Visit,
) -> None:
    page, w = worker.page, worker.world
    await page.goto(w.console_url + "/activities")
    await page.get_by_label("标题").fill("重阳节敬老志愿服务")
    await page.get_by_label("类别").select_option(label="惠民暖心")
    await page.get_by_label("地点").fill("社区活动中心")
    await page.get_by_label("日期").fill(
        (business_date(datetime.now(UTC)) + timedelta(days=10)).isoformat()
    )
    await page.get_by_role("button", name="发布活动").click()
    await page.get_by_text("活动“重阳节敬老志愿服务”已发布。").wait_for()
    await worker.look("activities")

    await page.goto(f"{w.console_url}/activities/{w.extra.activity_id}")
    roster = page.locator("#roster")
    assert SERVING in await roster.inner_text()
    assert await roster.get_by_role("checkbox", name=SERVING).is_checked()
    await worker.look("activity")
    await roster.get_by_role("button", name="结束活动：确认所选党员出勤").click()
    await page.get_by_text("已确认 1 名党员出勤，积分已发放。").wait_for()
    assert "小时，已确认" in await page.locator("#roster").inner_text()

    await page.get_by_role("link", name="显示签到二维码").click()
    qr = page.get_by_role("img", name="“楼道清扫志愿活动”签到二维码")
    await qr.wait_for()
    assert await page.locator(".qr-code svg").count() == 1
    link = await page.locator(".qr-screen .hint").inner_text()
    assert link.startswith(w.public_url + "/m/checkin?activity=" + w.extra.activity_id)
    await worker.look("activity-qr")


async def test_a_fulfilled_wish_is_confirmed(worker: Visit) -> None:
    page, w = worker.page, worker.world
    await page.goto(w.console_url + "/wishes?status=done")
    await page.wait_for_url("**/wishes?status=done")
    await worker.look("wishes")
    await page.get_by_role("button", name="确认已完成：给独居老人修一台收音机").click()
    await page.get_by_text("已确认微心愿完成，党员积分已发放。").wait_for()
    await page.goto(w.console_url + "/wishes?status=fulfilled")
    assert "给独居老人修一台收音机" in await page.get_by_role("table").inner_text()


async def test_entries_on_behalf_are_made_and_audited_under_the_worker(worker: Visit) -> None:
    page, w = worker.page, worker.world
    worker_sub = w.issuer.people["wang.fang"].sub
    await page.goto(w.console_url + "/on-behalf")
    await worker.look("on-behalf")
    report = page.locator("#report")
    await report.get_by_label("党员姓名").fill("钱老伯")
    await report.get_by_label("工作单位").select_option(label=UNIT_NAME)
    await report.get_by_role("button", name="登记并报到").click()
    await page.locator("#report-phone-error").wait_for()  # the phone is required
    await page.locator("#report-phone").fill("02088886666")  # a landline: refused by points
    await page.locator("#report").get_by_role("button", name="登记并报到").click()
    error = page.locator("#report-phone-error")
    await error.wait_for()
    assert await error.inner_text() == "请填写以 1 开头的 11 位手机号码。"
    await page.locator("#report-phone").fill("13700001111")
    await page.locator("#report").get_by_role("button", name="登记并报到").click()
    await page.get_by_text("钱老伯 已登记并到本社区报到").wait_for()

    sign_up = page.locator("#sign-up")
    await sign_up.get_by_label("党员").select_option(label="钱老伯")
    await sign_up.get_by_label("活动").select_option(index=1)
    await sign_up.get_by_role("button", name="报名").click()
    await page.get_by_text("已报名参加活动，您的代录已记入审计。").wait_for()

    wish = page.locator("#wish")
    await wish.get_by_label("心愿").fill("想要一副老花镜")
    await wish.get_by_role("button", name="登记微心愿").click()
    await page.get_by_text("已为居民登记微心愿，您的代录已记入审计。").wait_for()

    actions = [(a["action"], a["by"], a["role"]) for a in w.access.on_behalf]
    assert actions == [
        ("points.report", worker_sub, "community_admin"),
        ("points.sign_up", worker_sub, "community_admin"),
        ("points.wish", worker_sub, "community_admin"),
    ]
    assert w.access.on_behalf[0]["party_id"] == w.access.on_behalf[1]["party_id"]
    await page.goto(w.console_url + "/members")
    assert "钱老伯" in await page.get_by_role("table").inner_text()


async def test_another_communitys_pages_are_not_found(worker: Visit) -> None:
    page, w = worker.page, worker.world
    for path in (
        f"/needs/{w.extra.other_need}",
        f"/activities/{w.extra.other_activity}",
        f"/activities/{w.extra.other_activity}/qr",
        f"/agreements/new?unit_id={w.district.unit_id}&need_id={w.extra.other_need}",
    ):
        answer = await page.goto(w.console_url + path)
        assert answer is not None and answer.status == 404, path
        assert await page.get_by_role("heading", level=1).inner_text() == "未找到"


async def test_the_forms_refuse_a_missing_csrf_token(worker: Visit) -> None:
    page, w = worker.page, worker.world
    for path in ("/members/reports", f"/activities/{w.extra.activity_id}/attendance",
                 "/on-behalf/wish", "/needs/import", f"/needs/{w.extra.need_to_edit}"):  # fmt: skip
        answer = await page.request.post(w.console_url + path, form={"title": "x"})
        assert answer.status == 403, path
