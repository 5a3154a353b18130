"""年度考评 in Debian's Chromium against the real services on a stack of their own (issue 35):
a district admin previews the year with a 20% cap on 优秀, publishes it for 公示; a member
objects on the phone page; the admin upholds it with the corrected points total; the member's
new score shows (graded 良好, not 优秀: two members, a 20% cap leaves no place); after the
deadline on the business clock the scores are final and the public board says so. Each page
is scanned with axe-core and photographed at 1280 and 390 px into var/screenshots/console/."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
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
    MEMBER_NAME,
    UNIT_NAME,
    FakeAccess,
    FakeIssuer,
    seed_district,
    served,
    tiny_png,
)
from test_console_browser import CHROMIUM, SERVICES, Visit, World, _ensure_browser, _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(900)]

# A Monday in December: the year assessed is this one, and five working days end on the 14th.
START = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
# The pages' header asks the notifications service for the unread count.
STACK = tuple(dict.fromkeys((*SERVICES, "notifications")))
SECOND_MEMBER = "刘建国"


@dataclass
class AssessWorld:
    world: World
    api: Api
    quiet: Quiescence
    clock: Path
    evaluation_url: str
    second_member: str


async def _members_serving(api: Api, quiet: Quiescence, world_d: Any) -> str:
    """The seeded member's report accepted, and a second member of the unit, serving too."""
    unit = api.actor("unit_admin", world_d.unit_id)
    worker = api.actor("community_admin", world_d.community_id)
    second = await unit.post(
        "points",
        "/members",
        {"name": SECOND_MEMBER, "phone": "13900139000", "unit_id": world_d.unit_id,
         "community_id": world_d.community_id},
    )  # fmt: skip
    second_id = str(second["member_id"])
    await api.actor("member", second_id).post("points", f"/members/{second_id}/report", {})
    for member_id in (world_d.member_id, second_id):
        await worker.post("points", f"/members/{member_id}/report/accept", {})
    await quiet.wait()
    return second_id


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def assess_world() -> AsyncIterator[AssessWorld]:
    _ensure_browser()
    axe_path = NODE_MODULES / "axe-core" / "axe.min.js"
    if not axe_path.exists():
        pytest.fail(f"{axe_path} is missing: run `make` (npm ci in services/console)")
    from playwright.async_api import async_playwright

    root = Path(tempfile.mkdtemp(prefix="cobuild-console-assess-"))
    os.chmod(root, 0o755)  # as root, PostgreSQL runs as nobody and must reach var/pg
    clock = root / "clock.txt"
    write_clock_file(clock, START)
    config = StackConfig.from_env(
        {"COBUILD_PROVIDER": "0"},
        var_dir=root / "var",
        services=STACK,
        service_ports={name: 0 for name in STACK},
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
        district = await seed_district(api, quiet, business_date(START))
        second = await _members_serving(api, quiet, district)

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
                        yield AssessWorld(
                            world, api, quiet, clock, info["services"]["evaluation"]["url"], second
                        )
                    finally:
                        await browser.close()
    finally:
        await api.aclose()
        await stack.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def secretary(assess_world: AssessWorld) -> AsyncIterator[Visit]:
    world = assess_world.world
    person = world.issuer.add("zhao.min", "赵敏")
    world.access.grant(person, "district_admin", world.district.district_id, "示范区")
    visit = await _sign_in(world, "zhao.min")
    yield visit
    await visit.context.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def member(assess_world: AssessWorld) -> AsyncIterator[Visit]:
    world = assess_world.world
    person = world.issuer.add("chen.xh", MEMBER_NAME)
    world.access.grant(person, "member", world.district.member_id, MEMBER_NAME)
    visit = await _sign_in(world, "chen.xh")
    await visit.page.set_viewport_size({"width": 390, "height": 844})
    yield visit
    await visit.context.close()


def _grade_cell(page: Any, member_id: str) -> Any:
    return page.locator(f"tr[data-member='{member_id}'] td.grade")


async def test_preview_with_a_quota_then_publish_for_objections(
    assess_world: AssessWorld, secretary: Visit
) -> None:
    page = secretary.page
    await page.get_by_role("link", name="年度考评").click()
    await page.get_by_role("heading", name="2026 年度考评", level=1).wait_for()
    await page.get_by_text("尚未公布。").wait_for()

    # A quota that is not a share: said beside the field.
    await page.get_by_label("优秀比例上限（百分比）").fill("150")
    await page.get_by_role("button", name="试算").click()
    error = page.locator("#quota-error")
    await error.wait_for()
    assert "0 到 100" in await error.inner_text()
    assert await page.get_by_label("优秀比例上限（百分比）").get_attribute("aria-invalid") == "true"

    await page.get_by_label("优秀比例上限（百分比）").fill("20")
    await page.get_by_role("button", name="试算").click()
    await page.locator("#preview-result").wait_for()
    assert await page.locator("#member-excellent-rate").inner_text() == "0%"
    assert await page.locator("[data-grade='member-fail']").inner_text() == "2"
    # Both members score 0 and share rank 1, shown as a tie.
    assert (
        await page.locator(f"tr[data-member='{assess_world.second_member}'] td").first.inner_text()
        == "=1"
    )
    await secretary.look("assessment-preview")

    await assess_world.quiet.wait()  # publishing is refused while the inputs lag
    await page.get_by_role("button", name="公布并公示").click()
    await page.get_by_text("2026 年度考评已公布，进入公示期。").wait_for()
    assert await page.locator("#assessment-state").inner_text() == "公示中"
    assert "优秀比例上限 20%" in await page.locator(".assessment-state").inner_text()
    await secretary.look("assessment-publicised")


async def test_the_unit_sees_its_score_and_may_object(assess_world: AssessWorld) -> None:
    world = assess_world.world
    person = world.issuer.add("wang.fang", "王芳")
    world.access.grant(person, "unit_admin", world.district.unit_id, UNIT_NAME)
    visit = await _sign_in(world, "wang.fang")
    try:
        page = visit.page
        await page.get_by_role("link", name="年度考评").click()
        await page.get_by_role("heading", name="本单位得分").wait_for()
        assert await page.locator("#own-state").inner_text() == "公示中"
        await page.get_by_role("button", name="提交异议").click()  # no reason: nothing filed
        await page.locator("#reason-error").wait_for()
        assert await page.get_by_label("异议理由").get_attribute("aria-invalid") == "true"
        await visit.look("assessment-unit")
    finally:
        await visit.context.close()


async def test_a_member_objects_on_the_phone(assess_world: AssessWorld, member: Visit) -> None:
    page = member.page
    await page.goto(member.world.console_url + "/m/objection")
    await page.get_by_role("heading", name="我的 2026 年度考评", level=1).wait_for()
    assert await page.locator("#own-score").inner_text() == "0.00"
    assert await page.locator("#own-state").inner_text() == "公示中"
    await page.get_by_role("button", name="提交异议").click()  # no reason
    await page.locator("#reason-error").wait_for()
    assert await page.locator("#reason-error").inner_text() == "请说明异议理由。"
    await page.get_by_label("异议理由").fill("我全年参加了 12 次志愿服务，积分应为 60 分。")
    await page.get_by_label("照片或 PDF（最多 5 个）").set_input_files(
        {"name": "签到表.png", "mimeType": "image/png", "buffer": tiny_png()}
    )
    await page.get_by_role("button", name="提交异议").click()
    await page.get_by_text("您的异议已提交区里处理。").wait_for()
    assert "等待区里处理" in await page.locator(".objections-mine").inner_text()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await member.look("assessment-objection-phone")


async def test_the_secretary_upholds_and_the_new_score_shows(
    assess_world: AssessWorld, secretary: Visit, member: Visit
) -> None:
    page = secretary.page
    await page.goto(secretary.world.console_url + "/assessment#objections")
    objection = page.locator("li.objection").first
    await objection.get_by_text("我全年参加了 12 次志愿服务").wait_for()
    assert "附件 1 个" in await objection.inner_text()
    # Upholding needs a reason: said beside the field.
    await objection.get_by_label("更正后的数值").fill("60")
    await objection.get_by_role("button", name="异议成立", exact=True).click()
    objection = page.locator("li.objection").first
    reason_error = objection.locator("[id$='-error']").first
    await reason_error.wait_for()
    assert await reason_error.inner_text() == "请填写处理理由。"
    await secretary.look("assessment-uphold-error")
    await objection.get_by_label("更正的项目").select_option("points")
    await objection.get_by_label("更正后的数值").fill("60")
    await objection.locator("input[name=reason]").first.fill("经核对签到表，积分应为 60 分")
    await assess_world.quiet.wait()
    await objection.get_by_role("button", name="异议成立", exact=True).click()
    await page.get_by_text("异议成立：已按更正数据重新计算全年考评。").wait_for()
    assert "异议成立" in await page.locator("li.objection").first.inner_text()
    await secretary.look("assessment-upheld")

    phone = member.page
    await phone.goto(member.world.console_url + "/m/objection")
    await phone.locator("#own-score").wait_for()
    assert await phone.locator("#own-score").inner_text() == "100.00"
    # Two members and a 20% cap: no place for 优秀, so 100 is graded 良好.
    assert await phone.locator("#own-grade").inner_text() == "良好"
    await member.look("assessment-new-score-phone")


async def test_after_the_deadline_the_scores_are_final_and_the_board_says_so(
    assess_world: AssessWorld, secretary: Visit, member: Visit
) -> None:
    page = secretary.page
    await page.goto(secretary.world.console_url + "/assessment")
    async with page.expect_response(lambda r: r.url.endswith("/assessment/finalise")) as early:
        await page.get_by_role("button", name="确认定档").click()  # still in the objection period
    assert (await early.value).status == 409

    await assess_world.quiet.wait()
    write_clock_file(assess_world.clock, START + timedelta(days=8))  # Tuesday the 15th
    await page.goto(secretary.world.console_url + "/assessment")
    await page.get_by_role("button", name="确认定档").click()
    await page.get_by_text("2026 年度考评已定档。").wait_for()
    assert await page.locator("#assessment-state").inner_text() == "已定档"
    await secretary.look("assessment-final")

    phone = member.page
    await phone.goto(member.world.console_url + "/m/objection")
    assert await phone.locator("#own-state").inner_text() == "已定档"
    assert await phone.get_by_role("button", name="提交异议").count() == 0

    street = secretary.world.district.street_id
    board_url = f"{assess_world.evaluation_url}/public/streets/{street}"
    async with httpx.AsyncClient() as client:
        assert "已定档" in (await client.get(board_url)).text
    # The public board residents read (the console's, no sign-in) says so too.
    await phone.set_viewport_size({"width": 390, "height": 844})
    await phone.goto(f"{secretary.world.console_url}/board/streets/{street}")
    await phone.locator("#assessment-state").wait_for()
    assert "已定档" in await phone.locator("#assessment-state").inner_text()
    from test_console_browser import SCREENSHOTS

    await phone.screenshot(path=str(SCREENSHOTS / "assessment-board-final-390.png"), full_page=True)
