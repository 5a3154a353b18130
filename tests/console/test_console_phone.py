"""The phone pages (issue 36) in Debian's Chromium at 390×844 against the real services on a
stack of their own: a member signs in, reports to the community where they live, is accepted
by the community worker in the workbench, signs up for an activity, checks in by opening the
URL the community's QR code decodes to (refused on a second try, and for an activity whose
window has not opened), sees the points with their cause once the community confirms the
attendance, and a verified record; takes on a micro-wish and marks it fulfilled; sets the
honour-roll name and exports their data. Another member's entry is not found (404). A
resident rates through the console from their own address and the rating counts; one from the
address that printed the codes stays flagged. An expert scores an assigned commitment, seeing
its evidence: a 12-megapixel camera photo served fitted for a phone. Every phone page is
measured (at most 150 KB transferred on a first load, cache off), scanned with axe-core and
photographed at 390 and 360 px into var/screenshots/console/ (names m-*)."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import pytest_asyncio
from cobuild_console.app import create_app
from cobuild_console.runtime import NODE_MODULES
from cobuild_console.settings import ConsoleSettings
from cobuild_contracts import Role, encode, headers, wrap
from cobuild_contracts.events.access import GrantAdded
from cobuild_kit.clock import BUSINESS_TZ, business_date, parse_utc, write_clock_file
from cobuild_kit.testing import eventually
from cobuild_scenario.actors import Api, Tokens
from cobuild_scenario.pace import Quiescence
from cobuild_stack.launcher import Stack, StackConfig
from cobuild_stack.ports import free_port
from cobuild_stack.testing import produce
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
)
from PIL import Image
from test_console_browser import CHROMIUM, SCREENSHOTS, SERVICES, _ensure_browser, _sign_in
from test_console_evidence_photos import camera_jpeg

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(900)]

PHONE = {"390": (390, 844), "360": (360, 740)}
MAX_PAGE_BYTES = 150_000
WHOLE: dict[str, int] = {}  # each resource's size when it was last fetched whole
ME = "周明"
NOW_TITLE = "楼道清扫志愿活动"
LATER_TITLE = "明日义诊志愿服务"
WISH_TITLE = "帮独居老人更换楼道灯泡"
FULFILLED = "为助老食堂捐赠一批餐具"  # console_support's commitment the community confirms
EXPERT = "张建国"
CRITERIA = ["完成质量", "群众满意度"]
PHOTO = "餐具交接现场.jpg"  # what the unit's phone took: 12 megapixels, sideways, with GPS
MAX_PHOTO_BYTES = 60_000  # the photo as the expert's page shows it
# Addresses of browsers behind the console (as an ingress would forward them): the worker who
# prints the residents' codes, and a resident.
PRINTER_ADDRESS = "198.51.100.20"
RESIDENT_ADDRESS = "203.0.113.7"


@dataclass
class Phones:
    district: District
    console_url: str
    public_url: str
    issuer: FakeIssuer
    access: FakeAccess
    browser: Any
    axe: str
    api: Api
    member_id: str = ""
    now_activity: str = ""
    later_activity: str = ""
    other_entry: str = ""  # an entry of another member (陈晓红)
    expert_id: str = ""
    photo: bytes = b""  # the evidence photo as uploaded
    weights: dict[str, Any] = field(default_factory=dict)
    bootstrap: str = ""  # the stack's broker
    settings: ConsoleSettings | None = None  # the console's, for another console beside it
    clock: Path | None = None  # the stack's business clock (a file)


async def _seed(api: Api, quiet: Quiescence, d: District, now: datetime, w: Phones) -> None:
    hospital = api.actor("unit_admin", d.unit_id)
    worker = api.actor("community_admin", d.community_id)
    me = await hospital.post(
        "points",
        "/members",
        {"name": ME, "phone": "13900139000", "unit_id": d.unit_id, "community_id": d.community_id},
    )
    w.member_id = str(me["member_id"])

    def activity(title: str, start: datetime, hours: int) -> dict[str, Any]:
        return {"community_id": d.community_id, "title": title, "category": "happy_compound",
                "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=hours)).isoformat(),
                "place": "幸福里3号楼", "capacity": 20}  # fmt: skip

    on_now = await worker.post(
        "points", "/activities", activity(NOW_TITLE, now - timedelta(minutes=30), 3)
    )
    tomorrow = datetime.combine(
        business_date(now) + timedelta(days=1), datetime.min.time(), BUSINESS_TZ
    )
    later = await worker.post(
        "points", "/activities", activity(LATER_TITLE, tomorrow.replace(hour=9), 2)
    )
    w.now_activity, w.later_activity = str(on_now["activity_id"]), str(later["activity_id"])
    await worker.post("points", "/wishes", {"community_id": d.community_id, "title": WISH_TITLE,
                                            "description": "3号楼2单元，独居的王奶奶家"})  # fmt: skip

    # Another member with points of her own: her entry must stay hers.
    await worker.post("points", f"/members/{d.member_id}/report/accept", {})
    her = api.actor("member", d.member_id)
    await her.post("points", f"/activities/{w.now_activity}/sign-ups", {})
    await her.post(
        "points", f"/activities/{w.now_activity}/check-in", {"code": on_now["check_in_code"]}
    )
    await worker.post("points", f"/activities/{w.now_activity}/attendances",
                      {"member_id": d.member_id, "hours": "1"})  # fmt: skip
    hers = await her.get("points", f"/members/{d.member_id}/points", year=business_date(now).year)
    w.other_entry = str(hers["entries"]["items"][0]["entry_id"])

    # A fulfilled commitment residents rate and an expert scores, with a camera's photo.
    w.photo = camera_jpeg()
    await hospital.upload(
        "commitments", f"/commitments/{d.to_confirm}/evidence", PHOTO, w.photo, "image/jpeg"
    )
    await worker.post("commitments", f"/commitments/{d.to_confirm}/confirm", {})
    district = api.actor("district_admin", d.district_id)
    expert = await district.post("evaluation", "/experts", {"name": EXPERT, "field": "社区治理"})
    w.expert_id = str(expert["expert_id"])
    await quiet.wait()  # the evaluation service learns of the fulfilment
    await district.post("evaluation", "/expert-assignments", {
        "expert_id": w.expert_id, "subject_kind": "commitment", "subject_id": d.to_confirm,
        "criteria": CRITERIA})  # fmt: skip
    await quiet.wait()  # the commitments service learns of the assignment (expert.assigned)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def phones() -> AsyncIterator[Phones]:
    _ensure_browser()
    axe_path = NODE_MODULES / "axe-core" / "axe.min.js"
    if not axe_path.exists():
        pytest.fail(f"{axe_path} is missing: run `make` (npm ci in services/console)")
    from playwright.async_api import async_playwright

    root = Path(tempfile.mkdtemp(prefix="cobuild-console-phone-"))
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
        # The console below runs on loopback beside the services, which believe its
        # X-Forwarded-For as the launcher has them do when it runs the console itself.
        extra_env={f"COBUILD_{name.upper()}_TRUSTED_PROXIES": "127.0.0.1" for name in SERVICES},
    )
    stack = Stack(config)
    info = await stack.start()
    api = Api({n: s["url"] for n, s in info["services"].items()}, Tokens(info["keys"]))
    try:
        operator = api.tokens.token("operator", "00000000-0000-4000-8000-000000000000")
        quiet = Quiescence(api, operator, timeout_s=120)
        district = await seed_district(api, quiet, business_date(start))
        issuer = FakeIssuer()
        access = FakeAccess.with_dev_keys(
            issuer, Path(info["keys"]["private_key"]).parent, info["keys"]["kid"]
        )
        async with served(issuer.app()) as issuer_url:
            issuer.url = issuer_url
            async with served(access.app()) as access_url:
                port = free_port()
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
                        w = Phones(district, console_url, public_url, issuer, access, browser,
                                   axe_path.read_text(), api, bootstrap=info["broker"]["bootstrap"],
                                   settings=settings, clock=clock)  # fmt: skip
                        await _seed(api, quiet, district, start, w)
                        yield w
                        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                        (SCREENSHOTS / "m-page-weights.json").write_text(
                            json.dumps(w.weights, indent=2, ensure_ascii=False) + "\n"
                        )
                    finally:
                        await browser.close()
    finally:
        await api.aclose()
        await stack.stop()
        shutil.rmtree(root, ignore_errors=True)


class Phone:
    """One phone's browser at 390×844: the cache off (every page is a first load), the bytes
    each page transfers counted, console errors collected (a CSP violation is one)."""

    def __init__(self, w: Phones, context: Any, page: Any) -> None:
        self.w = w
        self.context = context
        self.page = page
        self.errors: list[str] = []
        self.finished: list[Any] = []  # the requests of the page now shown
        page.on("request", self._request)
        page.on("requestfinished", lambda r: self.finished.append(r))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on(
            "console",
            lambda m: (
                self.errors.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource")
                else None
            ),
        )

    @classmethod
    async def open(cls, w: Phones) -> Phone:
        context = await w.browser.new_context(
            locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True,
            has_touch=True, device_scale_factor=2,
        )  # fmt: skip
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
        await cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        return cls(w, context, page)

    async def sign_in(self, username: str, path: str = "/m/") -> None:
        await self.page.goto(self.w.console_url + path)
        await self.page.get_by_label("用户名").fill(username)
        await self.page.get_by_label("密码").fill(PASSWORD)
        await self.page.get_by_role("button", name="登录").click()
        await self.page.wait_for_url(self.w.console_url + "/**")

    def _request(self, request: Any) -> None:
        # A new page starts with its document's request (after a redirect too): count afresh.
        if request.is_navigation_request() and request.frame == self.page.main_frame:
            self.finished.clear()

    async def weigh(self, name: str) -> int:
        """The bytes the page now shown transferred on its load (the cache is off: a first
        load), its document and everything it loaded, headers included."""
        await self.page.wait_for_load_state("load")
        total, parts = 0, {}
        for request in list(self.finished):
            sizes = await request.sizes()
            size = sizes["responseBodySize"] + sizes["responseHeadersSize"]
            # Chromium's memory cache serves a stylesheet again with 0 bytes even with the
            # cache off: a first load would fetch it, so it counts as much as it did then.
            url = request.url.replace(self.w.console_url, "")[:80]
            size = WHOLE.setdefault(url, size) if size == 0 else size
            WHOLE[url] = max(WHOLE.get(url, 0), size)
            parts[url] = size
            total += size
        assert any(r.resource_type == "document" for r in self.finished), name
        self.w.weights[name] = {"bytes": total, "requests": parts}
        assert total <= MAX_PAGE_BYTES, f"{name}: {total} bytes transferred: {parts}"
        return total

    async def look(self, name: str) -> None:
        """Weighed, then at 390 and 360 px: no horizontal scroll, a screenshot, axe with no
        serious or critical violation; no console error."""
        await self.weigh(name)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for label, (width, height) in PHONE.items():
            await self.page.set_viewport_size({"width": width, "height": height})
            wide = await self.page.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth"
            )
            assert wide <= 0, f"{name} at {label} px scrolls sideways by {wide} px"
            # The whole page in one viewport as tall as it is, so the sticky tab bar sits
            # at the end as on a phone scrolled down (a full-page shot pins it mid-page).
            tall = await self.page.evaluate("() => document.documentElement.scrollHeight")
            await self.page.set_viewport_size({"width": width, "height": max(height, tall)})
            await self.page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"))
            await self.page.set_viewport_size({"width": width, "height": height})
            await self.page.evaluate(self.w.axe + "\n;true")
            result = await self.page.evaluate(
                "async () => { const r = await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']});"
                " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
                " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})); }"
            )
            bad = [v for v in result if v["impact"] in ("serious", "critical")]
            assert not bad, f"{name} at {label} px: {bad}"
        await self.page.set_viewport_size({"width": 390, "height": 844})
        assert not self.errors, f"{name}: console errors {self.errors}"

    async def main_text(self) -> str:
        text: str = await self.page.locator("main").inner_text()
        return text


async def _publish(bootstrap: str, *events: Any) -> None:
    """Events onto their topics, as their services' relays send them."""
    for e in events:
        env = wrap(e, producer="console-tests", occurred_at=datetime.now(UTC))
        hdrs = {k: v.encode() for k, v in headers(env).items()}
        await produce(bootstrap, e.TOPIC, [(env.key.encode(), encode(env), hdrs)])


def _decode_qr(png: bytes) -> str:
    import zxingcpp

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))
    assert len(found) == 1, f"{len(found)} QR codes read"
    return str(found[0].text)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def member(phones: Phones) -> AsyncIterator[Phone]:
    person = phones.issuer.add("zhou.ming", ME)
    row = phones.access.grant(person, "member", phones.member_id, ME)
    # The access service's event of the grant (console_support's stand-in publishes none): the
    # notifications service learns from it whose inbox a notice to this member goes to.
    await _publish(
        phones.bootstrap,
        GrantAdded(grant_id=UUID(row.grant_id), subject=person.sub, role=Role.MEMBER,
                   party_id=UUID(phones.member_id), granted_by="console-tests",
                   granted_at=datetime.now(UTC)),
    )  # fmt: skip
    phone = await Phone.open(phones)
    await phone.sign_in("zhou.ming")
    yield phone
    await phone.context.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def worker(phones: Phones) -> AsyncIterator[Any]:
    person = phones.issuer.add("li.juan", "李娟")
    phones.access.grant(person, "community_admin", phones.district.community_id, COMMUNITY_NAME)
    visit = await _sign_in(phones, "li.juan")  # type: ignore[arg-type]
    yield visit
    await visit.context.close()


async def _qr_url(worker: Any, w: Phones, activity_id: str) -> str:
    """The worker shows the activity's QR code; a phone's camera reads it."""
    await worker.page.goto(f"{w.console_url}/activities/{activity_id}/qr")
    code = worker.page.locator(".qr-code svg")
    await code.wait_for()
    url = _decode_qr(await code.screenshot())
    assert url.startswith(f"{w.public_url}/m/checkin?activity={activity_id}&token=")
    return url


async def test_a_member_reports_and_the_community_accepts(member: Phone, worker: Any) -> None:
    page, w = member.page, member.w
    assert page.url == w.console_url + "/m/"
    assert await page.get_by_role("heading", level=1).inner_text() == f"你好，{ME}"
    assert "你还没有向社区报到。" in await member.main_text()
    assert UNIT_NAME in await member.main_text()
    await member.look("m-home-new")

    await page.get_by_role("link", name="向社区报到").click()
    await page.get_by_role("heading", name="向社区报到", level=1).wait_for()
    await page.get_by_label("居住地所在街道和社区").select_option(label=COMMUNITY_NAME)
    await page.get_by_role("button", name="提交报到").click()
    await page.get_by_text("请确认这是你的单位；如有误，请联系单位更正。").wait_for()
    await member.look("m-report-error")
    await page.get_by_label("这是我的单位").check()
    await page.get_by_role("button", name="提交报到").click()
    await page.get_by_text("报到申请已提交，社区会尽快处理。").wait_for()
    assert f"等待{COMMUNITY_NAME}接收你的报到" in await member.main_text()
    await member.look("m-home-requested")

    await worker.page.goto(w.console_url + "/")
    await worker.page.get_by_role("button", name=f"接收{ME}的报到").click()
    await worker.page.get_by_text(f"已接收{ME}到本社区报到。").wait_for()

    await page.goto(w.console_url + "/m/")
    assert f"正在{COMMUNITY_NAME}服务" in await member.main_text()


async def test_the_member_signs_up_and_checks_in_with_the_qr_code(
    member: Phone, worker: Any
) -> None:
    page, w = member.page, member.w
    await page.get_by_role("link", name="志愿活动", exact=True).click()
    await page.get_by_role("heading", name="本社区的活动", level=1).wait_for()
    await member.look("m-activities")
    await page.get_by_role("link", name=NOW_TITLE).click()
    await page.get_by_role("heading", name=NOW_TITLE, level=1).wait_for()
    await member.look("m-activity")
    await page.get_by_role("button", name="报名").click()
    await page.get_by_text(f"已报名“{NOW_TITLE}”。到现场后扫描二维码签到。").wait_for()
    await member.look("m-activity-signed-up")

    url = await _qr_url(worker, w, w.now_activity)
    await page.goto(url)
    await page.get_by_role("heading", name="签到", level=1).wait_for()
    assert NOW_TITLE in await member.main_text()
    await member.look("m-checkin")
    await page.get_by_role("button", name="立即签到").click()
    await page.get_by_role("heading", name="签到成功", level=1).wait_for()
    assert "你已于" in await member.main_text()
    await member.look("m-checked-in")

    await page.goto(url)  # the same code again
    await page.get_by_role("button", name="立即签到").click()
    await page.get_by_role("heading", name="签到未成功", level=1).wait_for()
    assert "你已签到过此活动。" in await member.main_text()
    await member.look("m-checkin-again")

    # An activity whose window opens tomorrow: signed up, its code is refused, saying when.
    await page.goto(f"{w.console_url}/m/activities/{w.later_activity}")
    await page.get_by_role("button", name="报名").click()
    await page.get_by_text(f"已报名“{LATER_TITLE}”。到现场后扫描二维码签到。").wait_for()
    await page.get_by_role("button", name="取消报名").click()  # not started: it may
    await page.get_by_text(f"已取消“{LATER_TITLE}”的报名。").wait_for()
    await member.look("m-activity-cancelled")
    await page.get_by_role("button", name="报名").click()
    await page.get_by_text(f"已报名“{LATER_TITLE}”。到现场后扫描二维码签到。").wait_for()
    later = await _qr_url(worker, w, w.later_activity)
    await page.goto(later)
    await page.get_by_role("button", name="立即签到").click()
    await page.get_by_role("heading", name="签到未成功", level=1).wait_for()
    said = await page.get_by_role("alert").inner_text()
    assert said.startswith("签到尚未开始：") and " 09:00" in said, said
    await member.look("m-checkin-early")

    # A token edited by hand is not a token.
    await page.goto(url.replace("token=", "token=9"))
    await page.get_by_role("button", name="立即签到").click()
    assert "此二维码对该活动无效" in await page.get_by_role("alert").inner_text()


async def test_points_follow_the_confirmed_attendance_with_their_cause(
    member: Phone, worker: Any
) -> None:
    page, w = member.page, member.w
    await page.goto(w.console_url + "/m/points")
    assert "今年还没有积分" in await member.main_text()

    await worker.page.goto(f"{w.console_url}/activities/{w.now_activity}")
    await worker.page.get_by_role("button", name="结束活动：确认所选党员出勤").click()
    await worker.page.get_by_text("已确认").first.wait_for()

    await page.goto(w.console_url + "/m/points")
    balance = await page.locator("[data-balance]").inner_text()
    assert float(balance) > 0, balance
    text = await member.main_text()
    assert f"志愿活动：{NOW_TITLE}" in text
    assert "积分规则 2026-v1" in text or "积分规则 " in text
    assert "✓" in text and "记录已核验" in text
    await member.look("m-points")
    await page.get_by_role("link", name=f"志愿活动：{NOW_TITLE}", exact=False).click()
    await page.get_by_role("heading", name="志愿活动", level=1).wait_for()
    assert NOW_TITLE in await member.main_text()
    await member.look("m-points-entry")

    await page.goto(w.console_url + "/m/activities")
    assert "出勤已确认" in await member.main_text()


async def test_another_members_entry_is_not_found(member: Phone) -> None:
    w = member.w
    response = await member.page.goto(f"{w.console_url}/m/points/{w.other_entry}")
    assert response is not None and response.status == 404
    assert "页面不存在，或您无权查看。" in await member.main_text()


async def test_the_member_takes_on_a_wish_and_marks_it_fulfilled(member: Phone) -> None:
    page, w = member.page, member.w
    await page.goto(w.console_url + "/m/wishes")
    await member.look("m-wishes")
    await page.get_by_role("button", name=f"认领“{WISH_TITLE}”").click()
    await page.get_by_text("你已认领这个心愿。完成后请标记为已实现。").wait_for()
    await member.look("m-wishes-claimed")
    await page.get_by_role("button", name=f"标记“{WISH_TITLE}”已实现").click()
    await page.get_by_text("已标记为已实现，等待社区确认。").wait_for()
    assert "等待社区确认" in await member.main_text()


async def test_the_member_sets_the_honour_roll_name_and_exports_their_data(
    member: Phone,
) -> None:
    page, w = member.page, member.w
    await page.goto(w.console_url + "/m/data")
    await member.look("m-data")
    await page.get_by_role("button", name="显示我的全名").click()
    await page.get_by_text("光荣榜将显示你的全名。").wait_for()
    assert "当前：显示全名。" in await member.main_text()
    exported = await member.context.request.get(w.console_url + "/m/data/export")
    assert exported.status == 200
    data = json.loads(await exported.body())
    assert data["member"]["name"] == ME and data["member"]["show_full_name"] is True
    assert MEMBER_NAME not in json.dumps(data, ensure_ascii=False)


async def _look_at_the_sheet(worker: Any, w: Phones) -> None:
    """The workbench's QR sheet at 1280 and 390 px: a screenshot, axe with no serious or
    critical violation, no sideways scroll at 390. (Its console errors are the workbench
    header's business: it polls services this stack may not run.)"""
    for label, (width, height) in {"1280": (1280, 900), **PHONE}.items():
        await worker.page.set_viewport_size({"width": width, "height": height})
        await worker.page.screenshot(
            path=str(SCREENSHOTS / f"resident-qr-{label}.png"), full_page=True
        )
        await worker.page.evaluate(w.axe + "\n;true")
        result = await worker.page.evaluate(
            "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a',"
            " 'wcag21aa', 'best-practice']})).violations.map(v => [v.id, v.impact])"
        )
        assert not [v for v in result if v[1] in ("serious", "critical")], (label, result)
        if width < 1000:
            wide = await worker.page.evaluate(
                "() => document.documentElement.scrollWidth - innerWidth"
            )
            assert wide <= 0, f"the QR sheet scrolls sideways by {wide} px at {label}"
    await worker.page.set_viewport_size({"width": 1280, "height": 900})


async def test_a_resident_rates_once_from_the_printed_qr_code(phones: Phones, worker: Any) -> None:
    w = phones
    await worker.page.goto(f"{w.console_url}/commitments/{w.district.to_confirm}")
    await worker.page.get_by_role("link", name="打印群众评价二维码").click()
    await worker.page.get_by_role("heading", name="群众评价二维码", level=1).wait_for()
    await worker.page.get_by_label("二维码数量").fill("2")
    await worker.page.get_by_role("button", name="生成二维码").click()
    codes = worker.page.locator(".resident-codes .qr-code svg")
    await codes.first.wait_for()
    assert await codes.count() == 2
    url = _decode_qr(await codes.first.screenshot())
    assert url.startswith(f"{w.public_url}/m/rate/")
    assert url == await worker.page.locator(".resident-codes figcaption").first.inner_text()
    await _look_at_the_sheet(worker, w)

    resident = await Phone.open(w)  # a phone that never signs in
    try:
        page = resident.page
        await page.goto(url)
        await page.get_by_role("heading", name="为本次服务打分", level=1).wait_for()
        text = await resident.main_text()
        assert FULFILLED in text and "按时完成" in text
        assert MEMBER_NAME not in text and "13800138000" not in text
        await resident.look("m-rate")
        await page.get_by_role("button", name="提交评价").click()
        await page.get_by_text("请选择一到五颗星。").wait_for()
        await page.get_by_text("5 星", exact=True).click()
        assert await page.get_by_label("5 星").is_checked()
        await page.get_by_label("留言（选填）").fill("餐具很实用，老人们都说好。")
        await page.get_by_role("button", name="提交评价").click()
        await page.get_by_role("heading", name="谢谢您", level=1).wait_for()
        assert "已收到您的评价：5 颗星。" in await resident.main_text()
        await resident.look("m-rated")

        again = await page.goto(url)
        assert again is not None and again.status == 410
        assert "此评价链接已使用" in await resident.main_text()
        await resident.look("m-rate-used")
        unknown = await page.goto(f"{w.console_url}/m/rate/{'z' * 22}")
        assert unknown is not None and unknown.status == 404
    finally:
        await resident.context.close()


async def _print_codes(worker: Any, w: Phones, count: int) -> list[str]:
    """The worker prints `count` resident codes for the fulfilled commitment: their links."""
    await worker.page.goto(f"{w.console_url}/commitments/{w.district.to_confirm}")
    await worker.page.get_by_role("link", name="打印群众评价二维码").click()
    await worker.page.get_by_label("二维码数量").fill(str(count))
    await worker.page.get_by_role("button", name="生成二维码").click()
    captions = worker.page.locator(".resident-codes figcaption")
    await captions.first.wait_for()
    return [str(url) for url in await captions.all_inner_texts()]


async def _rate_from(w: Phones, url: str, address: str) -> None:
    """A phone behind `address` opens a rating link and gives four stars."""
    phone = await Phone.open(w)
    try:
        await phone.context.set_extra_http_headers({"X-Forwarded-For": address})
        await phone.page.goto(url)
        await phone.page.get_by_text("4 星", exact=True).click()
        await phone.page.get_by_role("button", name="提交评价").click()
        await phone.page.get_by_role("heading", name="谢谢您", level=1).wait_for()
    finally:
        await phone.context.close()


async def test_a_residents_rating_counts_unless_it_comes_from_where_the_codes_were_printed(
    phones: Phones, worker: Any
) -> None:
    """The console forwards each browser's address to the evaluation service (which believes
    it from the console only): the codes are issued from the worker's address, a resident's
    rating from the resident's counts in the mean, and one from the worker's address is kept
    flagged as the community's own, as it would be without the console in between."""
    w = phones
    district = w.api.actor("district_admin", w.district.district_id)

    async def evaluations() -> dict[str, Any]:
        found: dict[str, Any] = await district.get(
            "evaluation", "/evaluations", subject_kind="commitment",
            subject_id=w.district.to_confirm,
        )  # fmt: skip
        return found

    await worker.context.set_extra_http_headers({"X-Forwarded-For": PRINTER_ADDRESS})
    try:
        mine, theirs = await _print_codes(worker, w, 2)
    finally:
        await worker.context.set_extra_http_headers({})
    before = await evaluations()

    await _rate_from(w, mine, RESIDENT_ADDRESS)
    counted = await evaluations()
    assert counted["resident"]["count"] == before["resident"]["count"] + 1
    assert counted["flagged"] == before["flagged"]  # flagged 0: it counts

    await _rate_from(w, theirs, PRINTER_ADDRESS)
    flagged = await evaluations()
    assert flagged["resident"]["count"] == counted["resident"]["count"]
    assert flagged["flagged"] == counted["flagged"] + 1


async def _photos_shown(page: Any) -> None:
    """Until every picture of the page has loaded (they load lazily, as they come into view)."""
    await page.wait_for_function(
        "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"
    )


async def test_an_expert_scores_an_assigned_commitment(phones: Phones) -> None:
    w = phones
    person = w.issuer.add("zhang.jianguo", EXPERT)
    w.access.grant(person, "expert", w.expert_id, EXPERT)
    expert = await Phone.open(w)
    try:
        page = expert.page
        await expert.sign_in("zhang.jianguo")
        await page.wait_for_url(f"{w.console_url}/m/expert")
        due = page.locator("section", has=page.get_by_role("heading", name="待评分"))
        await due.get_by_role("link", name=FULFILLED, exact=False).wait_for()
        await expert.look("m-expert")
        await due.get_by_role("link", name=FULFILLED, exact=False).click()
        await page.get_by_role("heading", name=FULFILLED, level=1).wait_for()
        # The evidence: the camera's photo fitted for a phone, the original a tap away.
        photo = page.get_by_role("img", name=f"佐证照片 {PHOTO}")
        assert await photo.get_attribute("loading") == "lazy"
        await _photos_shown(page)
        await expert.look("m-expert-score")
        weighed = w.weights["m-expert-score"]
        src = str(await photo.get_attribute("src"))
        photo_bytes = weighed["requests"][src[:80]]  # as weigh() names a request
        served = await expert.context.request.get(w.console_url + src)
        assert served.status == 200 and served.headers["content-type"] == "image/jpeg"
        fitted = await served.body()
        shown = Image.open(io.BytesIO(fitted))
        assert shown.size == (405, 540)  # inside 720×540, and upright: it was taken sideways
        assert not shown.getexif() and b"HUAWEI" not in fitted  # no place, time or device
        assert len(fitted) <= MAX_PHOTO_BYTES < len(w.photo), (len(fitted), len(w.photo))
        w.weights["m-expert-photo"] = {
            "original_bytes": len(w.photo), "served_bytes": len(fitted),
            "served_with_headers": photo_bytes, "page_bytes": weighed["bytes"],
        }  # fmt: skip
        original = page.get_by_role("link", name=re.compile(r"^查看原图（3\.\d MB）$"))
        whole = await expert.context.request.get(
            w.console_url + str(await original.get_attribute("href"))
        )
        assert whole.status == 200 and await whole.body() == w.photo
        another = w.district.to_refuse  # not assigned to this expert: its evidence is not shown
        listed = await expert.context.request.get(f"{w.console_url}/m/expert/{another}")
        assert listed.status == 404
        hidden = await expert.context.request.get(
            w.console_url + src.replace(w.district.to_confirm, another)
        )
        assert hidden.status == 404
        await page.get_by_label(CRITERIA[0]).fill("120")
        await page.get_by_label(CRITERIA[1]).fill("88")
        await page.get_by_role("button", name="提交评分").click()
        await page.get_by_text("请输入 0 到 100 之间的整数。").wait_for()
        assert await page.get_by_label(CRITERIA[0]).get_attribute("aria-invalid") == "true"
        await _photos_shown(page)
        await expert.look("m-expert-score-error")
        await page.get_by_label(CRITERIA[0]).fill("92")
        await page.get_by_role("button", name="提交评分").click()
        await page.get_by_text(f"已提交对“{FULFILLED}”的评分。").wait_for()
        done = page.locator("section", has=page.get_by_role("heading", name="已评分"))
        assert FULFILLED in await done.inner_text()
        assert "目前没有待评分的事项。" in await expert.main_text()
        await expert.look("m-expert-done")
        again = await page.goto(f"{w.console_url}/m/expert/{w.district.to_confirm}")
        assert again is not None and again.status == 200
        assert "已于" in await expert.main_text()
        other = await page.goto(f"{w.console_url}/m/expert/{w.district.to_refuse}")
        assert other is not None and other.status == 404  # not assigned to them
    finally:
        await expert.context.close()


async def test_a_person_without_a_grant_is_told_how_to_begin(phones: Phones) -> None:
    phones.issuer.add("li.xin", "李新")  # signed in at the provider, no grant anywhere
    person = await Phone.open(phones)
    try:
        await person.sign_in("li.xin")
        await person.page.goto(phones.console_url + "/m/")
        await person.page.get_by_role("heading", name="欢迎你，李新", level=1).wait_for()
        assert "打开链接并接受邀请后，即可在这里向社区报到。" in await person.main_text()
        await person.look("m-person")
    finally:
        await person.context.close()


# -- 消息 (issue 37): the member's notifications on the phone ---------------------------------


async def _unread(w: Phones) -> int:
    """The member's unread count as the notifications service keeps it."""
    person = w.issuer.people["zhou.ming"]
    token = w.access._mint(person.sub, "member", w.member_id, None)
    answer = await w.api.request("notifications", "GET", "/inbox/unread-count", token=token)
    return int(answer.json()["unread"])


async def _desktop(phone: Phone, name: str) -> None:
    """The page as a desktop browser shows it too (the phone pages keep one column)."""
    await phone.page.set_viewport_size({"width": 1280, "height": 900})
    tall = await phone.page.evaluate("() => document.documentElement.scrollHeight")
    await phone.page.set_viewport_size({"width": 1280, "height": max(900, tall)})  # as look()
    await phone.page.screenshot(path=str(SCREENSHOTS / f"{name}-1280.png"))
    await phone.page.set_viewport_size({"width": 390, "height": 844})


async def test_the_member_reads_messages_and_marks_them_read(member: Phone) -> None:
    """/m/ shows the unread count on its 消息 tile; /m/inbox lists the notices newest first,
    each with its kind in Chinese and a link where the phone has a page for it (the
    workbench's task page is not a member's); one marked read, then all, with plain forms."""
    page, w = member.page, member.w
    d = w.district
    assert w.clock is not None
    # A minute on, so the assignment is the newest notice (the clock stands still here).
    write_clock_file(w.clock, parse_utc(w.clock.read_text().strip()) + timedelta(minutes=1))
    before = await _unread(w)  # 报到成功 at least: the community accepted the report
    assert before >= 1
    hospital = w.api.actor("unit_admin", d.unit_id)
    await hospital.post("commitments", f"/commitments/{d.unit_later}/claim")
    await hospital.put(
        "commitments", f"/commitments/{d.unit_later}/assignees", {"member_ids": [w.member_id]}
    )

    async def told() -> bool:
        return await _unread(w) > before

    await eventually(told, timeout=60)
    unread = await _unread(w)

    await page.goto(w.console_url + "/m/")
    tile = page.locator("a.m-messages")
    assert await tile.locator(".m-count").inner_text() == str(unread)
    assert f"{unread} 条未读" in await tile.inner_text()
    await member.look("m-home-messages")
    await _desktop(member, "m-home-messages")
    await tile.click()
    await page.get_by_role("heading", name="消息", level=1).wait_for()
    items = page.locator("ul.m-inbox > li")
    first = items.nth(0)
    text = await first.inner_text()
    assert "任务安排" in text and "你被安排参加任务「法律咨询进社区」" in text, text
    assert await first.get_by_role("link").count() == 0  # /tasks/... is the unit's page
    accepted = items.filter(has_text="报到成功")
    assert await accepted.get_by_role("link", name="报到成功").get_attribute("href") == "/m/"
    assert "报到通过" in await accepted.inner_text()
    assert await page.locator("ul.m-inbox > li.unread").count() == min(unread, 20)
    assert f"{unread} 条未读" in await member.main_text()
    await member.look("m-inbox")
    await _desktop(member, "m-inbox")

    await first.get_by_role("button", name="标为已读").click()
    await page.wait_for_url(w.console_url + "/m/inbox")
    assert await items.nth(0).locator(".m-tag.unread").count() == 0
    assert await _unread(w) == unread - 1
    await page.get_by_role("button", name="全部标为已读").click()
    await page.get_by_text(f"已将 {unread - 1} 条消息标为已读。").wait_for()
    assert await page.locator("ul.m-inbox > li.unread").count() == 0
    assert await page.get_by_role("button", name="全部标为已读").count() == 0
    assert await _unread(w) == 0
    await member.look("m-inbox-read")

    await page.goto(w.console_url + "/m/")
    assert await tile.locator(".m-count").count() == 0
    assert "没有未读消息" in await tile.inner_text()


@asynccontextmanager
async def _console_with(w: Phones, service_urls: dict[str, str]) -> AsyncIterator[Phones]:
    """Another console beside the first, on the same stack, with these services' addresses."""
    assert w.settings is not None
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    settings = w.settings.model_copy(
        update={"port": port, "public_url": public_url, "service_urls": service_urls}
    )
    async with served(create_app(settings), port) as console_url:
        yield replace(w, console_url=console_url, public_url=public_url)


async def test_messages_are_absent_where_the_notifications_service_is_not(
    phones: Phones, member: Phone
) -> None:
    """Not configured: no 消息 tile, and no such page. Configured but not answering: the tile
    without a count, and the page says calmly to try later. Neither is an error."""
    assert phones.settings is not None
    urls = dict(phones.settings.service_urls)
    without = {n: u for n, u in urls.items() if n != "notifications"}
    dead = {**urls, "notifications": f"http://127.0.0.1:{free_port()}"}
    async with _console_with(phones, without) as w:
        phone = await Phone.open(w)
        try:
            await phone.sign_in("zhou.ming")
            assert phone.page.url == w.console_url + "/m/"
            assert f"你好，{ME}" in await phone.main_text()
            assert await phone.page.locator("a.m-messages").count() == 0
            assert await phone.page.get_by_text("消息").count() == 0
            missing = await phone.page.goto(w.console_url + "/m/inbox")
            assert missing is not None and missing.status == 404
        finally:
            await phone.context.close()
    async with _console_with(phones, dead) as w:
        phone = await Phone.open(w)
        try:
            await phone.sign_in("zhou.ming")
            assert phone.page.url == w.console_url + "/m/"
            tile = phone.page.locator("a.m-messages")
            assert await tile.count() == 1 and await tile.locator(".m-count").count() == 0
            assert "任务提醒和办理结果" in await tile.inner_text()
            await phone.page.goto(w.console_url + "/m/inbox")
            assert "消息暂时打不开，请稍后再试。" in await phone.main_text()
            await phone.look("m-inbox-unavailable")
        finally:
            await phone.context.close()
