"""The public board (上墙公示, issue 35) in Debian's Chromium against the real services on a
stack of their own, read as a resident would: on a 390×844 phone, with no account.

A street with two communities, a unit each; the year's assessment published for 公示 with a
member upheld to 优秀 (so the member honour roll has a name on it). The street's board names
its communities in the chart and the table and links down to each community's board, which
names its units and links back up; the member honour roll is a page with the names exactly as
the points service serves them (masked). No page scrolls sideways at 390 px, every link on
the pages answers 200 and is a path of this site (any host, any port), axe-core finds no
serious or critical violation, and a byte scan of every public page and of the services'
answers behind them finds no member's name unmasked and no phone number. The large-type mode
(a GET form, a cookie) makes the text larger and stays on as the resident moves on; the pages
are used with the keyboard alone, focus always visible. Each page is photographed at 390 and
1280 px into var/screenshots/console/ (names board-*) and weighed (board-page-weights.json)."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
from console_support import COMMUNITY_NAME, MEMBER_NAME, UNIT_NAME, District, seed_district, served
from test_console_browser import CHROMIUM, SCREENSHOTS, SERVICES, _ensure_browser

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(900)]

# A Monday in December: the year published for 公示 is this one.
START = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
YEAR = 2026
STREET_NAME = "和平街道"  # console_support's street
OTHER_COMMUNITY = "光明里社区"
OTHER_UNIT = "区图书馆"
SECOND_MEMBER = "刘建国"
PHONES = ("13800138000", "13900139000")  # console_support's member's and the second's
WIDTHS = {"390": (390, 844), "1280": (1280, 900)}
# What a first load may transfer: the pages with a chart carry ECharts (gzipped, ~170 KB).
MAX_BYTES = {"chart": 260_000, "plain": 150_000}
WHOLE: dict[str, int] = {}  # each file's size when it was last fetched whole


@dataclass
class Board:
    district: District
    console_url: str
    services: dict[str, str]
    browser: Any
    axe: str
    other_community: str
    weights: dict[str, Any] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.console_url + path


async def _second_community(api: Api, d: District, today: Any) -> tuple[str, str]:
    """光明里社区 of the same street, with 区图书馆, which signed one commitment with it."""
    district = api.actor("district_admin", d.district_id)
    community = await district.post(
        "agreements",
        "/parties",
        {"kind": "community", "name": OTHER_COMMUNITY, "code": "C2", "parent_id": d.street_id},
    )
    community_id = str(community["party_id"])
    unit = await district.post(
        "agreements",
        "/parties",
        {"kind": "unit", "name": OTHER_UNIT, "code": "U2", "parent_id": d.district_id,
         "unit_type": "public_institution", "paired_community_ids": [community_id]},
    )  # fmt: skip
    return community_id, str(unit["party_id"])


async def _sign(api: Api, community_id: str, unit_id: str, today: Any) -> None:
    from datetime import timedelta

    library = api.actor("unit_admin", unit_id)
    item = {"title": "为社区书屋配送新书", "kind": "task", "category": "quality_service",
            "obligor_party_id": unit_id, "beneficiary_party_id": community_id,
            "responsible_title": "馆长", "deadline": (today + timedelta(days=20)).isoformat(),
            "funds_fen": 350_050, "quantity": 1, "quantity_unit": "批"}  # fmt: skip
    proposed = await library.post(
        "agreements",
        "/agreements",
        {"community_id": community_id, "unit_id": unit_id, "term_start": today.isoformat(),
         "term_end": (today + timedelta(days=365)).isoformat(), "items": [item]},
    )  # fmt: skip
    agreement_id = proposed["agreement_id"]
    await library.post("agreements", f"/agreements/{agreement_id}/signatures", {"version": 1})
    await api.actor("community_admin", community_id).post(
        "agreements", f"/agreements/{agreement_id}/signatures", {"version": 1}
    )


async def _publish_with_an_excellent_member(api: Api, quiet: Quiescence, d: District) -> None:
    """Both members serve in 幸福里社区; the year is published for 公示; 陈晓红 objects and
    the district upholds with her corrected points (60: a score of 100, 优秀)."""
    unit = api.actor("unit_admin", d.unit_id)
    worker = api.actor("community_admin", d.community_id)
    second = await unit.post(
        "points",
        "/members",
        {"name": SECOND_MEMBER, "phone": PHONES[1], "unit_id": d.unit_id,
         "community_id": d.community_id},
    )  # fmt: skip
    second_id = str(second["member_id"])
    await api.actor("member", second_id).post("points", f"/members/{second_id}/report", {})
    for member_id in (d.member_id, second_id):
        await worker.post("points", f"/members/{member_id}/report/accept", {})
    await quiet.wait()
    district = api.actor("district_admin", d.district_id)
    await district.post(
        "evaluation",
        f"/assessments/{YEAR}/publish",
        {"district_id": d.district_id, "policy_version": "2026-v1"},
    )
    filed = await api.request(
        "evaluation",
        "POST",
        f"/assessments/{YEAR}/objections",
        token=api.tokens.token("member", d.member_id),
        data={"reason": "全年参加志愿服务，积分应为 60 分。"},
    )
    await district.post(
        "evaluation",
        f"/objections/{filed.json()['objection_id']}/uphold",
        {"reason": "经核对签到表，积分应为 60 分", "corrections": {"points": "60"}},
    )
    await quiet.wait()  # the points service learns the new scores (member.scored)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def board() -> AsyncIterator[Board]:
    _ensure_browser()
    axe_path = NODE_MODULES / "axe-core" / "axe.min.js"
    if not axe_path.exists():
        pytest.fail(f"{axe_path} is missing: run `make` (npm ci in services/console)")
    from playwright.async_api import async_playwright

    root = Path(tempfile.mkdtemp(prefix="cobuild-console-board-"))
    os.chmod(root, 0o755)  # as root, PostgreSQL runs as nobody and must reach var/pg
    clock = root / "clock.txt"
    write_clock_file(clock, START)
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
    urls = {n: s["url"] for n, s in info["services"].items()}
    api = Api(urls, Tokens(info["keys"]))
    try:
        operator = api.tokens.token("operator", "00000000-0000-4000-8000-000000000000")
        quiet = Quiescence(api, operator, timeout_s=120)
        today = business_date(START)
        district = await seed_district(api, quiet, today)
        other_community, other_unit = await _second_community(api, district, today)
        await quiet.wait()
        await _sign(api, other_community, other_unit, today)
        await api.actor("community_admin", district.community_id).post(
            "commitments", f"/commitments/{district.to_confirm}/confirm", {}
        )
        await _publish_with_an_excellent_member(api, quiet, district)
        port = free_port()
        settings = ConsoleSettings(
            port=port,
            public_url=f"http://127.0.0.1:{port}",
            service_urls=urls,
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
                b = Board(district, console_url, urls, browser, axe_path.read_text(),
                          other_community)  # fmt: skip
                yield b
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                (SCREENSHOTS / "board-page-weights.json").write_text(
                    json.dumps(b.weights, indent=2, ensure_ascii=False) + "\n"
                )
            finally:
                await browser.close()
    finally:
        await api.aclose()
        await stack.stop()
        shutil.rmtree(root, ignore_errors=True)


class Resident:
    """A resident's phone at 390×844, no account: the cache off (every page a first load),
    the bytes each page transfers counted, console errors collected (a CSP refusal is one)."""

    def __init__(self, board: Board, context: Any, page: Any) -> None:
        self.board = board
        self.context = context
        self.page = page
        self.errors: list[str] = []
        self.finished: list[Any] = []
        page.on("request", self._request)
        page.on("requestfinished", lambda r: self.finished.append(r))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("dialog", lambda d: self.errors.append(f"a pop-up: {d.message}"))

    @classmethod
    async def open(cls, board: Board) -> Resident:
        context = await board.browser.new_context(
            locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True,
            has_touch=True, device_scale_factor=2,
        )  # fmt: skip
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
        await cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        return cls(board, context, page)

    def _request(self, request: Any) -> None:
        if request.is_navigation_request() and request.frame == self.page.main_frame:
            self.finished.clear()

    async def goto(self, path: str) -> None:
        response = await self.page.goto(self.board.url(path))
        assert response is not None and response.status == 200, path

    async def weigh(self, name: str, budget: int) -> int:
        await self.page.wait_for_load_state("load")
        total, parts = 0, {}
        for request in list(self.finished):
            sizes = await request.sizes()
            size = sizes["responseBodySize"] + sizes["responseHeadersSize"]
            # Chromium's memory cache serves a file again with 0 bytes even with the cache
            # off: a first load would fetch it, so it counts as much as it did then.
            url = request.url.replace(self.board.console_url, "")[:80]
            size = WHOLE.setdefault(url, size) if size == 0 else size
            WHOLE[url] = max(WHOLE.get(url, 0), size)
            parts[url] = size
            total += size
        self.board.weights[name] = {"bytes": total, "requests": parts}
        assert total <= budget, f"{name}: {total} bytes transferred: {parts}"
        return total

    async def look(self, name: str, budget: int) -> None:
        """Weighed; at 390 px no sideways scroll; photographed at 390 and 1280 px; axe at
        each with no serious or critical violation; no console error, no pop-up."""
        await self.weigh(name, budget)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for label, (width, height) in WIDTHS.items():
            await self.page.set_viewport_size({"width": width, "height": height})
            await self.page.wait_for_timeout(150)  # the chart redraws at the new width
            wide = await self.page.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth"
            )
            assert wide <= 0, f"{name} at {label} px scrolls sideways by {wide} px"
            await self.page.screenshot(
                path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True
            )
            await self.page.evaluate(self.board.axe + "\n;true")
            result = await self.page.evaluate(
                "async () => { const r = await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']});"
                " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
                " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})); }"
            )
            bad = [v for v in result if v["impact"] in ("serious", "critical")]
            assert not bad, f"{name} at {label} px: {bad}"
        await self.page.set_viewport_size({"width": 390, "height": 844})
        assert not self.errors, f"{name}: {self.errors}"


@pytest_asyncio.fixture(loop_scope="session")
async def resident(board: Board) -> AsyncIterator[Resident]:
    phone = await Resident.open(board)
    yield phone
    await phone.context.close()


def _street(board: Board) -> str:
    return f"/board/streets/{board.district.street_id}"


def _community(board: Board) -> str:
    return f"/board/communities/{board.district.community_id}"


def _roll(board: Board) -> str:
    return f"{_community(board)}/honour-roll?year={YEAR}"


async def _drawn(page: Any) -> list[str]:
    """The names on the chart's axis, as ECharts drew them."""
    names: list[str] = await page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('board-chart'))"
        ".getOption().yAxis[0].data"
    )
    return names


async def _font_px(page: Any) -> float:
    return float(await page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)"))


# -- the pages, as a resident reads them --------------------------------------------------------


async def test_the_street_board_names_its_communities_and_leads_down_and_back(
    board: Board, resident: Resident
) -> None:
    page = resident.page
    await resident.goto(_street(board))
    await page.get_by_role("heading", name=re.compile(STREET_NAME), level=1).wait_for()
    rows = page.get_by_role("table", name=re.compile("各社区履约情况"))
    for name in (COMMUNITY_NAME, OTHER_COMMUNITY):
        await rows.get_by_role("link", name=name).wait_for()
    # The chart is drawn (ECharts) with the communities' names, beside the table.
    await page.locator("#board-chart canvas").wait_for()
    in_table = await rows.locator("tbody th").all_inner_texts()
    assert sorted(in_table) == sorted([COMMUNITY_NAME, OTHER_COMMUNITY])
    assert await _drawn(page) == in_table  # the same rows, in the same order
    box = await page.locator("#board-chart").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    await page.locator("#assessment-state").get_by_text("公示中").wait_for()
    await resident.look("board-street", MAX_BYTES["chart"])

    await rows.get_by_role("link", name=COMMUNITY_NAME).click()
    await page.get_by_role("heading", name=re.compile(COMMUNITY_NAME), level=1).wait_for()
    units = page.get_by_role("table", name=re.compile("各共建单位履约情况"))
    assert UNIT_NAME in await units.inner_text()
    assert OTHER_UNIT not in await units.inner_text()
    await page.locator("#board-chart canvas").wait_for()
    assert await _drawn(page) == [UNIT_NAME]
    state = await page.locator("#assessment-state").inner_text()
    assert "公示中" in state and "异议受理截止日期" in state
    await resident.look("board-community", MAX_BYTES["chart"])

    await page.get_by_role("link", name=f"{COMMUNITY_NAME} {YEAR}年度党员光荣榜").click()
    roll = page.get_by_role("table", name=re.compile("名党员上榜"))
    await roll.wait_for()
    await resident.look("board-honour-roll", MAX_BYTES["plain"])

    trail = page.get_by_role("navigation", name="当前位置")
    await trail.get_by_role("link", name=COMMUNITY_NAME).click()
    await page.get_by_role("heading", name=re.compile(COMMUNITY_NAME), level=1).wait_for()
    await page.get_by_role("link", name=f"返回{STREET_NAME}公示").click()
    await page.get_by_role("heading", name=re.compile(STREET_NAME), level=1).wait_for()


async def test_the_honour_roll_shows_the_names_as_the_points_service_serves_them(
    board: Board, resident: Resident
) -> None:
    async with httpx.AsyncClient() as client:
        served_roll = (
            await client.get(
                f"{board.services['points']}/public/communities/"
                f"{board.district.community_id}/honour-roll",
                params={"year": YEAR},
            )
        ).json()
    assert [m["name"] for m in served_roll["items"]] == ["陈*"]  # upheld to 100: 优秀
    page = resident.page
    await resident.goto(_roll(board))
    cells = page.locator("table tbody tr")
    shown = [
        [c.strip() for c in (await cells.nth(i).inner_text()).split("\t")]
        for i in range(await cells.count())
    ]
    assert shown == [[str(m["rank"]), m["name"], m["score"], "优秀"] for m in served_roll["items"]]


async def test_every_link_answers_200_and_works_on_any_host(board: Board) -> None:
    """From the street's board, every page reachable by the boards' links: each link is a
    path of this site (no scheme, host or port), and each answers 200."""
    seen: set[str] = set()
    todo = [_street(board)]
    async with httpx.AsyncClient(base_url=board.console_url, follow_redirects=True) as client:
        while todo:
            path = todo.pop()
            if path in seen:
                continue
            seen.add(path)
            response = await client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            if not response.headers["content-type"].startswith("text/html"):
                continue
            for href in re.findall(r'<a [^>]*href="([^"]*)"', response.text):
                href = href.replace("&amp;", "&")
                parts = urlsplit(href)
                assert not parts.scheme and not parts.netloc, (path, href)
                if href.startswith("#"):
                    continue
                if href.startswith("?"):
                    href = urlsplit(path).path + href
                todo.append(href)
    assert _community(board) in seen and f"/board/communities/{board.other_community}" in seen
    assert _roll(board) in seen
    assert len(seen) >= 5, seen


async def test_no_member_name_unmasked_and_no_phone_number_anywhere(board: Board) -> None:
    """The bytes of every public page, in both languages, and of the services' public answers
    behind them."""
    pages = [_street(board), _community(board), f"/board/communities/{board.other_community}",
             _roll(board)]  # fmt: skip
    scanned: dict[str, bytes] = {}
    async with httpx.AsyncClient(base_url=board.console_url, follow_redirects=True) as client:
        for path in pages:
            scanned[path] = (await client.get(path)).content
        token = re.search(r'name="csrf_token" value="([^"]+)"', scanned[pages[0]].decode())
        assert token
        await client.post("/locale", data={"locale": "en", "csrf_token": token.group(1),
                                           "back": "/"})  # fmt: skip
        for path in pages:
            scanned[f"{path} (en)"] = (await client.get(path)).content
        assert b"Honour roll" in scanned[f"{_roll(board)} (en)"]
        d = board.district
        json_only = {"accept": "application/json"}
        for path in (f"/public/streets/{d.street_id}", f"/public/communities/{d.community_id}"):
            scanned[f"evaluation {path}"] = (
                await client.get(board.services["evaluation"] + path, headers=json_only)
            ).content
        roll = f"/public/communities/{d.community_id}/honour-roll?year={YEAR}"
        scanned[f"points {roll}"] = (await client.get(board.services["points"] + roll)).content
    assert "陈*".encode() in scanned[_roll(board)]
    phone = re.compile(rb"(?<!\d)1[3-9]\d{9}(?!\d)")
    for where, data in scanned.items():
        for name in (MEMBER_NAME, SECOND_MEMBER, "晓红", "建国"):
            assert name.encode() not in data, (where, name)
        for number in PHONES:
            assert number.encode() not in data, (where, number)
        assert not phone.search(data), (where, phone.search(data))


async def test_the_large_type_mode_enlarges_the_text_and_stays_on(
    board: Board, resident: Resident
) -> None:
    page = resident.page
    await resident.goto(_street(board))
    normal = await _font_px(page)
    heading = float(
        await page.evaluate(
            "() => parseFloat(getComputedStyle(document.querySelector('h1')).fontSize)"
        )
    )
    toggle = page.get_by_role("button", name=re.compile("大字版"))
    assert await toggle.get_attribute("aria-pressed") == "false"
    await toggle.click()
    await page.wait_for_url(re.compile(re.escape(_street(board)) + "$"))
    large = await _font_px(page)
    assert large >= 24 and large >= normal * 1.3, (normal, large)
    assert (
        float(
            await page.evaluate(
                "() => parseFloat(getComputedStyle(document.querySelector('h1')).fontSize)"
            )
        )
        > heading
    )
    assert await toggle.get_attribute("aria-pressed") == "true"
    await page.locator("#board-chart canvas").wait_for()
    await resident.look("board-street-large", MAX_BYTES["chart"])
    # It stays on down to the community and its honour roll, and off again with one press.
    await (
        page.get_by_role("table", name=re.compile("各社区履约情况"))
        .get_by_role("link", name=COMMUNITY_NAME)
        .click()
    )
    await page.get_by_role("heading", name=re.compile(COMMUNITY_NAME), level=1).wait_for()
    assert await _font_px(page) == large
    await resident.goto(_roll(board))
    assert await _font_px(page) == large
    await page.get_by_role("button", name=re.compile("大字版")).click()
    await page.get_by_role("table", name=re.compile("名党员上榜")).wait_for()
    assert await _font_px(page) == normal


async def test_the_high_contrast_mode_is_light_on_black(board: Board, resident: Resident) -> None:
    page = resident.page
    await resident.goto(_community(board))
    await page.get_by_role("button", name=re.compile("高对比度")).click()
    await page.locator("#board-chart canvas").wait_for()
    colours = await page.evaluate(
        "() => [getComputedStyle(document.body).color, getComputedStyle(document.body).backgroundColor]"
    )
    assert colours == ["rgb(255, 255, 255)", "rgb(0, 0, 0)"]
    await resident.look("board-community-contrast", MAX_BYTES["chart"])
    await page.get_by_role("button", name=re.compile("高对比度")).click()
    await page.get_by_role("heading", name=re.compile(COMMUNITY_NAME), level=1).wait_for()


async def test_the_board_is_used_with_the_keyboard_alone_with_focus_visible(
    board: Board, resident: Resident
) -> None:
    page = resident.page
    await resident.goto(_street(board))
    await page.keyboard.press("Tab")
    assert await page.evaluate("() => document.activeElement.textContent") == "跳到正文"
    await page.keyboard.press("Enter")
    assert await page.evaluate("() => document.activeElement.id") == "main"
    # Every stop of the page, from the top, shows where the focus is.
    await page.evaluate("() => document.activeElement.blur()")
    stops: list[str] = []
    for _ in range(40):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(
            "() => { const e = document.activeElement; const s = getComputedStyle(e);"
            " return [e.tagName, (e.textContent || '').trim().slice(0, 20),"
            " s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2]; }"
        )
        if focused[0] == "BODY":
            break
        assert focused[2], f"no visible focus on {focused}"
        stops.append(focused[1])
    assert any(COMMUNITY_NAME in s for s in stops), stops
    # The large-type switch works from the keyboard, and the link down with Enter.
    await page.get_by_role("button", name=re.compile("大字版")).focus()
    # Wait for the form's navigation itself: "load" of the page already shown answers at once
    # (CI read the old page's aria-pressed).
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert (
        await page.get_by_role("button", name=re.compile("大字版")).get_attribute("aria-pressed")
        == "true"
    )
    link = page.get_by_role("table", name=re.compile("各社区履约情况")).get_by_role(
        "link", name=OTHER_COMMUNITY
    )
    await link.focus()
    await page.keyboard.press("Enter")
    await page.get_by_role("heading", name=re.compile(OTHER_COMMUNITY), level=1).wait_for()
    await page.get_by_role("button", name=re.compile("大字版")).click()


async def test_the_board_reads_without_javascript(board: Board) -> None:
    context = await board.browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, java_script_enabled=False
    )
    try:
        page = await context.new_page()
        await page.goto(board.url(_street(board)))
        table = page.get_by_role("table", name=re.compile("各社区履约情况"))
        text = await table.inner_text()
        assert COMMUNITY_NAME in text and OTHER_COMMUNITY in text and "%" in text
        assert await page.locator("#board-chart").is_hidden()  # an empty box takes no room
        await page.get_by_role("button", name=re.compile("大字版")).click()
        assert await _font_px(page) >= 24
    finally:
        await context.close()


async def test_an_unknown_board_is_not_found(board: Board) -> None:
    async with httpx.AsyncClient(base_url=board.console_url) as client:
        for path in ("/board/streets/not-an-id", f"/board/streets/{board.district.community_id}",
                     f"/board/communities/{board.district.street_id}"):  # fmt: skip
            assert (await client.get(path)).status_code == 404, path
        away = await client.get("/board/display?large=1&back=https://evil.example/")
        assert away.status_code == 303 and away.headers["location"] == "/"
