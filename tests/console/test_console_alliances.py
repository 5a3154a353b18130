"""联席会议 in Debian's Chromium against the real services on a stack of their own (issue 39):
a street secretary opens the street's alliance, whose first meeting (seeded through the API)
was chaired by the first unit in the order, so the second is next; she holds a meeting whose
chair is shown as that unit, a bad amount is refused beside its field, she records two
decisions and sees them as commitments on the meeting's page. One is fulfilled through the
API (the unit claims, reports, marks it done; the community confirms): the meeting page shows
it fulfilled and the decisions' fulfilment rate (the ledger, origin=meeting) moves from 0 to
50 %. The chairing unit's administrator sees the meeting it chaired. Each page is scanned with
axe-core and photographed at 1280 and 390 px into var/screenshots/console/."""

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

SECOND_UNIT = "市供电公司"
THIRD_UNIT = "区文化馆"
ALLIANCE = "和平街道党建联席会议"
FIRST_DECISION = "幸福里社区楼道照明改造"
SECOND_DECISION = "幸福里社区义诊进楼院"


@dataclass
class AllianceWorld:
    world: World
    api: Api
    quiet: Quiescence
    alliance_id: str
    second_unit_id: str
    today: Any


async def _seed_alliance(api: Api, d: District, today: Any) -> tuple[str, str]:
    """A second unit of the district, and the street's alliance of both units, formed two
        months ago, whose first meeting (a month ago, chaired by the hospital) is on record; a third
    unit of the district, not a member."""
    district = api.actor("district_admin", d.district_id)
    power = await district.post(
        "agreements",
        "/parties",
        {
            "kind": "unit",
            "name": SECOND_UNIT,
            "code": "U2",
            "parent_id": d.district_id,
            "unit_type": "enterprise",
            "paired_community_ids": [d.community_id],
        },
    )
    await district.post(
        "agreements",
        "/parties",
        {
            "kind": "unit",
            "name": THIRD_UNIT,
            "code": "U3",
            "parent_id": d.district_id,
            "unit_type": "public_institution",
            "paired_community_ids": [d.community_id],
        },
    )  # not a member: it joins on the page
    street = api.actor("street_admin", d.street_id)
    formed = await street.post(
        "agreements",
        "/alliances",
        {
            "host_party_id": d.street_id,
            "name": ALLIANCE,
            "formed_on": (today - timedelta(days=60)).isoformat(),
            "member_unit_ids": [d.unit_id, str(power["party_id"])],
        },
    )
    alliance_id = str(formed["alliance_id"])
    await street.post(
        "agreements",
        f"/alliances/{alliance_id}/meetings",
        {
            "held_on": (today - timedelta(days=30)).isoformat(),
            "title": "第一次联席会议",
            "present_unit_ids": [d.unit_id, str(power["party_id"])],
        },
    )
    return alliance_id, str(power["party_id"])


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def alliance_world() -> AsyncIterator[AllianceWorld]:
    _ensure_browser()
    axe_path = NODE_MODULES / "axe-core" / "axe.min.js"
    if not axe_path.exists():
        pytest.fail(f"{axe_path} is missing: run `make` (npm ci in services/console)")
    from playwright.async_api import async_playwright

    root = Path(tempfile.mkdtemp(prefix="cobuild-console-alliances-"))
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
    today = business_date(start)
    try:
        operator = api.tokens.token("operator", "00000000-0000-4000-8000-000000000000")
        quiet = Quiescence(api, operator, timeout_s=120)
        district = await seed_district(api, quiet, today)
        alliance_id, second_unit_id = await _seed_alliance(api, district, today)
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
                        yield AllianceWorld(world, api, quiet, alliance_id, second_unit_id, today)
                    finally:
                        await browser.close()
    finally:
        await api.aclose()
        await stack.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def secretary(alliance_world: AllianceWorld) -> AsyncIterator[Visit]:
    world = alliance_world.world
    person = world.issuer.add("zhao.min", "赵敏")
    world.access.grant(person, "street_admin", world.district.street_id, "和平街道")
    visit = await _sign_in(world, "zhao.min")
    yield visit
    await visit.context.close()


async def _until(visit: Visit, url: str, locator: str, text: str) -> None:
    """Reload until the locator reads the text (the services settle through the broker);
    fail with what the page says instead."""
    page = visit.page
    said = ""
    for _ in range(30):
        await page.goto(visit.world.console_url + url)
        found = page.locator(locator)
        if await found.count():
            said = await found.first.inner_text()
            if text in said:
                return
        await asyncio.sleep(1)
    main = await page.locator("main").inner_text()
    raise AssertionError(f"{locator} never read {text!r} on {url} (last {said!r}): {main}")


async def test_the_alliance_shows_its_members_rotation_and_next_chair(
    alliance_world: AllianceWorld, secretary: Visit
) -> None:
    page = secretary.page
    await page.get_by_role("link", name="联席会议", exact=True).click()
    await page.get_by_role("heading", name="联席会议", level=1).wait_for()
    await page.get_by_role("link", name=ALLIANCE).click()
    await page.get_by_role("heading", name=ALLIANCE, level=1).wait_for()
    assert await page.locator("[data-next-chair]").inner_text() == SECOND_UNIT
    history = page.locator(".rotation-history li")
    assert await history.count() == 1 and UNIT_NAME in await history.first.inner_text()
    members = page.locator("tr[data-member]")
    assert await members.count() == 2
    assert "仍为成员" in await members.first.inner_text()
    await secretary.look("alliance")


async def test_a_meeting_chaired_in_turn_records_two_decisions(
    alliance_world: AllianceWorld, secretary: Visit
) -> None:
    page = secretary.page
    w = alliance_world
    await page.goto(f"{w.world.console_url}/alliances/{w.alliance_id}")
    await page.get_by_role("link", name="召开联席会议").click()
    await page.get_by_role("heading", name="召开联席会议", level=1).wait_for()
    assert await page.locator("[data-chair]").inner_text() == SECOND_UNIT  # shown, not typed

    await page.get_by_label("会议名称").fill("第二次联席会议")
    await page.get_by_label("议程").fill("通报上次决定事项落实情况\n研究本月为民办实事项目")
    await page.get_by_label("会议纪要").fill("会议研究确定两项为民办实事项目。")
    deadline = (w.today + timedelta(days=30)).isoformat()
    first = page.locator("fieldset[data-row='0']")
    await first.get_by_label("决定事项").fill(FIRST_DECISION)
    await first.get_by_label("受益社区").select_option(label=COMMUNITY_NAME)
    await first.get_by_label("类别").select_option("peoples_welfare")
    await first.get_by_label("完成时限").fill(deadline)
    await first.get_by_label("资金（元）").fill("12.345")  # three decimals: refused here
    second = page.locator("fieldset[data-row='1']")
    await second.get_by_label("决定事项").fill(SECOND_DECISION)
    await second.get_by_label("牵头单位").select_option(label=UNIT_NAME)
    await second.get_by_label("受益社区").select_option(label=COMMUNITY_NAME)
    await second.get_by_label("类别").select_option("peoples_welfare")
    await second.get_by_label("完成时限").fill((w.today + timedelta(days=60)).isoformat())
    await page.get_by_role("button", name="记录会议").click()

    error = page.locator("#f-decisions-0-funds_yuan-error")
    await error.wait_for()
    assert "两位小数" in await error.inner_text()
    assert await page.locator("#f-decisions-0-funds_yuan").get_attribute("aria-invalid") == "true"
    assert await page.locator("[data-chair]").inner_text() == SECOND_UNIT
    await secretary.look("alliance-meeting-form-refused")

    await page.locator("fieldset[data-row='0']").get_by_label("资金（元）").fill("5000")
    await page.get_by_role("button", name="记录会议").click()
    await page.get_by_role("heading", name="第二次联席会议", level=1).wait_for()
    assert await page.locator("[data-chair]").inner_text() == SECOND_UNIT
    rows = page.locator("tr[data-decision]")
    assert await rows.count() == 2
    assert SECOND_UNIT in await rows.nth(0).inner_text()  # the chair leads by default
    assert "¥5,000.00" in await rows.nth(0).inner_text()
    assert UNIT_NAME in await rows.nth(1).inner_text()

    meeting_url = page.url.removeprefix(w.world.console_url)
    # Both became commitments: opened by the commitments service, not yet claimed.
    await _until(secretary, meeting_url, "tr[data-decision='2'] td[data-state]", "待认领")
    await _until(secretary, meeting_url, "tr[data-decision='1'] td[data-state]", "待认领")
    await secretary.look("alliance-meeting")
    await _until(
        secretary, f"/alliances/{w.alliance_id}", "[data-decisions-rate='fulfilled']", "0 / 2"
    )
    rate = page.locator("[data-decisions-rate='fulfilment_rate']")
    assert await rate.inner_text() == "0.0%"
    assert await page.locator("[data-next-chair]").inner_text() == UNIT_NAME  # the next turn


async def test_a_decision_fulfilled_shows_on_the_meeting_and_moves_the_rate(
    alliance_world: AllianceWorld, secretary: Visit
) -> None:
    w = alliance_world
    d = w.world.district
    street = w.api.actor("street_admin", d.street_id)
    meetings = await street.get("agreements", f"/alliances/{w.alliance_id}/meetings")
    latest = meetings["items"][0]
    meeting = await street.get("agreements", f"/meetings/{latest['meeting_id']}")
    decision = next(x for x in meeting["decisions"] if x["title"] == FIRST_DECISION)
    path = f"/commitments/{decision['commitment_id']}"

    power = w.api.actor("unit_admin", w.second_unit_id)
    await power.post("commitments", f"{path}/claim")
    await power.post("commitments", f"{path}/progress", {"percent": 100, "note": "已完成改造"})
    await power.upload("commitments", f"{path}/evidence", "现场照片.png", tiny_png(), "image/png")
    await power.post("commitments", f"{path}/done", {})
    await w.api.actor("community_admin", d.community_id).post("commitments", f"{path}/confirm")
    await w.quiet.wait()

    meeting_url = f"/meetings/{latest['meeting_id']}"
    await _until(secretary, meeting_url, "tr[data-decision='1'] td[data-state]", "已履约")
    cell = secretary.page.locator("tr[data-decision='1'] td[data-state]")
    assert await cell.get_attribute("data-state") == "fulfilled"
    assert "按期" in await cell.inner_text()
    await secretary.look("alliance-meeting-fulfilled")
    await _until(
        secretary, f"/alliances/{w.alliance_id}", "[data-decisions-rate='fulfilled']", "1 / 2"
    )
    rate = secretary.page.locator("[data-decisions-rate='fulfilment_rate']")
    assert await rate.inner_text() == "50.0%"


async def test_the_chairing_unit_sees_the_meeting_it_chaired(
    alliance_world: AllianceWorld,
) -> None:
    w = alliance_world
    person = w.world.issuer.add("sun.li", "孙丽")
    w.world.access.grant(person, "unit_admin", w.second_unit_id, SECOND_UNIT)
    visit = await _sign_in(w.world, "sun.li")
    try:
        page = visit.page
        await page.get_by_role("link", name="联席会议", exact=True).click()
        await page.get_by_role("link", name=ALLIANCE).click()
        await page.get_by_role("heading", name=ALLIANCE, level=1).wait_for()
        second = page.locator("tr[data-meeting='2']")
        assert "主持" in await second.inner_text()
        assert "出席" in await page.locator("tr[data-meeting='1']").inner_text()
        assert await page.get_by_role("link", name="召开联席会议").count() == 0  # reads only
        await visit.look("alliance-unit")
    finally:
        await visit.context.close()


async def test_a_unit_joins_and_one_that_leaves_is_skipped(
    alliance_world: AllianceWorld, secretary: Visit
) -> None:
    page = secretary.page
    w = alliance_world
    await page.goto(f"{w.world.console_url}/alliances/{w.alliance_id}")
    await page.locator("#f-unit_id").select_option(label=THIRD_UNIT)
    await page.get_by_role("button", name="加入联盟").click()
    await page.get_by_text("该单位已加入联盟。").wait_for()
    assert await page.locator("tr[data-member]").count() == 3
    order = page.locator(".rotation-order li")
    assert await order.nth(2).inner_text() == THIRD_UNIT  # a joining unit takes its turn last
    # The second meeting was chaired by the second unit: the newcomer is next.
    assert await page.locator("[data-next-chair]").inner_text() == THIRD_UNIT

    hospital = page.locator("tr[data-member]", has_text=UNIT_NAME)
    await hospital.locator("summary").click()
    before = (w.today - timedelta(days=1)).isoformat()
    await hospital.get_by_label("退出日期（不再是成员的第一天）").fill(before)
    await hospital.get_by_role("button", name="登记退出").click()
    hospital = page.locator("tr[data-member]", has_text=UNIT_NAME)
    error = hospital.locator(".field-error")
    await error.wait_for()
    assert "不得早于上次会议" in await error.inner_text()  # the last meeting was today
    await secretary.look("alliance-leave-refused")

    await hospital.get_by_label("退出日期（不再是成员的第一天）").fill(w.today.isoformat())
    await hospital.get_by_role("button", name="登记退出").click()
    await page.get_by_text("该单位已退出联盟。").wait_for()
    hospital = page.locator("tr[data-member]", has_text=UNIT_NAME)
    assert "仍为成员" not in await hospital.inner_text()
    assert "已非成员，轮到时跳过" in await order.nth(0).inner_text()  # kept, skipped
    upcoming = await page.locator(".rotation-upcoming").inner_text()
    assert UNIT_NAME not in upcoming and THIRD_UNIT in upcoming and SECOND_UNIT in upcoming
    await secretary.look("alliance-members")
