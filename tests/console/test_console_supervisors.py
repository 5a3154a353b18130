"""The supervisors' pages (issue 35) in Debian's Chromium and over HTTP, against the real
services on a stack of their own: a street secretary signs in, sees her street's rates and
overdue list with names, drills down from the street to a commitment, and exports; a
district secretary sees the district. The dashboard's figures equal the ledger API's for the
same scope and date at three levels; an export opened with openpyxl has Chinese headers,
names and yuan, and equals the on-screen table. Every page is photographed at 1280 and 390
px into var/screenshots/console/ and scanned with axe-core."""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from cobuild_console.app import create_app
from cobuild_console.domain.rates import percent
from cobuild_console.runtime import NODE_MODULES
from cobuild_console.settings import ConsoleSettings
from cobuild_console.usecases import exports
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
from openpyxl import load_workbook
from test_console_browser import CHROMIUM, SERVICES, Visit, World, _ensure_browser, _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(900)]

STREET_NAME = "和平街道"
OTHER_COMMUNITY = "光明里社区"
OTHER_UNIT = "区图书馆"
LATE_TITLE = "为社区书屋配送新书"


@dataclass
class SupervisorsWorld:
    world: World
    api: Api
    as_of: date  # the console's business date (the clock moved on)
    other_community: str
    other_unit: str


async def _seed_second_pair(api: Api, d: District, today: date) -> tuple[str, str]:
    """A second community of the street with a second unit, which owes it a funded task
    due in two days (overdue once the clock moves on); the first community confirms one
    fulfilment, so the rates are not all zero."""
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
        {
            "kind": "unit",
            "name": OTHER_UNIT,
            "code": "U2",
            "parent_id": d.district_id,
            "unit_type": "public_institution",
            "paired_community_ids": [community_id],
        },
    )
    unit_id = str(unit["party_id"])
    return community_id, unit_id


async def _sign_second_agreement(api: Api, community_id: str, unit_id: str, today: date) -> None:
    library = api.actor("unit_admin", unit_id)
    worker = api.actor("community_admin", community_id)
    item = {
        "title": LATE_TITLE,
        "kind": "task",
        "category": "quality_service",
        "obligor_party_id": unit_id,
        "beneficiary_party_id": community_id,
        "responsible_title": "馆长",
        "deadline": (today + timedelta(days=2)).isoformat(),
        "funds_fen": 350_050,
        "quantity": 1,
        "quantity_unit": "批",
    }
    proposed = await library.post(
        "agreements",
        "/agreements",
        {
            "community_id": community_id,
            "unit_id": unit_id,
            "term_start": today.isoformat(),
            "term_end": (today + timedelta(days=365)).isoformat(),
            "items": [item],
        },
    )
    agreement_id = proposed["agreement_id"]
    await library.post("agreements", f"/agreements/{agreement_id}/signatures", {"version": 1})
    await worker.post("agreements", f"/agreements/{agreement_id}/signatures", {"version": 1})


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def sup_world() -> AsyncIterator[SupervisorsWorld]:
    _ensure_browser()
    axe_path = NODE_MODULES / "axe-core" / "axe.min.js"
    if not axe_path.exists():
        pytest.fail(f"{axe_path} is missing: run `make` (npm ci in services/console)")
    from playwright.async_api import async_playwright

    root = Path(tempfile.mkdtemp(prefix="cobuild-console-sup-"))
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
        today = business_date(start)
        district = await seed_district(api, quiet, today)
        other_community, other_unit = await _seed_second_pair(api, district, today)
        await quiet.wait()
        await _sign_second_agreement(api, other_community, other_unit, today)
        worker = api.actor("community_admin", district.community_id)
        await worker.post("commitments", f"/commitments/{district.to_confirm}/confirm", {})
        await quiet.wait()
        # Five days on: the community's first commitment and the library's are late.
        write_clock_file(clock, start + timedelta(days=5))
        as_of = business_date(start + timedelta(days=5))

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
                        **{n: s["url"] for n, s in info["services"].items()},
                        # Not started here: the header's unread count finds it unavailable
                        # (an empty badge) instead of a service missing from the settings.
                        "notifications": f"http://127.0.0.1:{free_port()}",
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
                        world = World(
                            district, console_url, issuer, access, browser, axe_path.read_text()
                        )
                        yield SupervisorsWorld(world, api, as_of, other_community, other_unit)
                    finally:
                        await browser.close()
    finally:
        await api.aclose()
        await stack.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def street(sup_world: SupervisorsWorld) -> AsyncIterator[Visit]:
    world = sup_world.world
    person = world.issuer.add("zhao.min", "赵敏")
    world.access.grant(person, "street_admin", world.district.street_id, STREET_NAME)
    visit = await _sign_in(world, "zhao.min")
    yield visit
    await visit.context.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def district(sup_world: SupervisorsWorld) -> AsyncIterator[Visit]:
    world = sup_world.world
    person = world.issuer.add("zhou.qiang", "周强")
    world.access.grant(person, "district_admin", world.district.district_id, "示范区")
    visit = await _sign_in(world, "zhou.qiang")
    yield visit
    await visit.context.close()


async def _get(visit: Visit, path: str) -> Any:
    """An HTTP request with the browser's session cookie (no page rendered)."""
    response = await visit.context.request.get(visit.world.console_url + path)
    assert response.status == 200, (path, response.status, (await response.text())[:500])
    return response


def _shown_rates(html: str) -> dict[str, str]:
    """The four rate cards' figures, as the page's HTML carries them."""
    cards = re.findall(r'<p class="figure"[^>]*data-rate="(\w+)">([^<]*)</p>', html)
    return dict(cards)


def _expected(figures: dict[str, Any]) -> dict[str, str]:
    out = {}
    for k in ("fulfilment_rate", "fulfilment_rate_fen", "on_time_rate", "on_time_rate_fen"):
        p = percent(figures[k])
        out[k] = "暂无数据" if p is None else f"{p}%"
    return out


# -- over HTTP: the figures ---------------------------------------------------------------


async def test_the_dashboard_equals_the_ledger_at_three_levels(
    sup_world: SupervisorsWorld, district: Visit, street: Visit
) -> None:
    d = sup_world.world.district
    day = sup_world.as_of.isoformat()
    checks = [
        (district, "district", d.district_id),
        (street, "street", d.street_id),
        (street, "community", d.community_id),
    ]
    for visit, scope, party in checks:
        role = {"district": "district_admin"}.get(scope, "street_admin")
        home = d.district_id if role == "district_admin" else d.street_id
        ledger = await sup_world.api.actor(role, home).get(
            "evaluation", "/ledger", scope=scope, id=party, as_of=day
        )
        page = await _get(visit, f"/overview?level={scope}&id={party}&as_of={day}")
        html = await page.text()
        assert _shown_rates(html) == _expected(ledger["figures"]), scope
        assert ledger["figures"]["signed"] > 0
        # Each child of the drill-down, by name, with the ledger's rates.
        for child in ledger["children"] if scope != "community" else []:
            row = re.search(
                rf'data-child="{child["id"]}">\s*<th scope="row"><a href="[^"]*">([^<]*)</a>(.*?)</tr>',
                html,
                re.S,
            )
            assert row, child
            assert row.group(1) == child["name"]
            cells = dict(re.findall(r'data-rate="(\w+)">([^<]*)</td>', row.group(2)))
            assert cells == _expected(child["figures"])


async def test_a_community_drills_down_to_units_whose_figures_sum_to_it(
    sup_world: SupervisorsWorld, street: Visit
) -> None:
    d = sup_world.world.district
    day = sup_world.as_of.isoformat()
    actor = sup_world.api.actor("street_admin", d.street_id)
    units = await actor.get(
        "evaluation", "/ledger/units", scope="street", id=d.street_id, as_of=day
    )
    ledger = await actor.get("evaluation", "/ledger", scope="street", id=d.street_id, as_of=day)
    assert {u["name"] for u in units["items"]} == {UNIT_NAME, OTHER_UNIT}
    for m in ("signed", "signed_fen", "fulfilled", "due", "on_time", "overdue", "overdue_fen"):
        assert sum(u["figures"][m] for u in units["items"]) == ledger["figures"][m], m
    html = await (
        await _get(street, f"/overview?level=community&id={d.community_id}&as_of={day}")
    ).text()
    assert UNIT_NAME in html and OTHER_UNIT not in html


async def test_the_overdue_list_equals_the_ledger(
    sup_world: SupervisorsWorld, street: Visit
) -> None:
    d = sup_world.world.district
    day = sup_world.as_of.isoformat()
    actor = sup_world.api.actor("street_admin", d.street_id)
    ledger = await actor.get("evaluation", "/ledger", scope="street", id=d.street_id, as_of=day)
    listed = await actor.get(
        "evaluation", "/ledger/overdue", scope="street", id=d.street_id, as_of=day
    )
    assert listed["total"] == ledger["figures"]["overdue"] == 2
    assert sum(r["committed_fen"] for r in listed["items"]) == ledger["figures"]["overdue_fen"]
    html = await (await _get(street, f"/overdue?as_of={day}")).text()
    assert "组织党员到医院开展政策宣讲" in html and LATE_TITLE in html
    assert COMMUNITY_NAME in html and OTHER_COMMUNITY in html and OTHER_UNIT in html
    assert "¥3,500.50" in html
    assert len(re.findall(r'<tr data-commitment="', html)) == 2
    # A filter by unit keeps the library's only.
    html = await (await _get(street, f"/overdue?as_of={day}&unit={sup_world.other_unit}")).text()
    assert len(re.findall(r'<tr data-commitment="', html)) == 1 and LATE_TITLE in html
    # Its export says which unit it holds, and holds that unit's only.
    rows = _sheet(
        await (
            await _get(street, f"/overdue/export.xlsx?as_of={day}&unit={sup_world.other_unit}")
        ).body()
    )
    assert ["共建单位", OTHER_UNIT] in [r[:2] for r in rows[:5]]
    header_at = next(i for i, r in enumerate(rows) if r and r[0] == "街道")
    assert [r[3] for r in rows[header_at + 1 :]] == [LATE_TITLE]


async def test_the_league_ranks_units_with_their_counts(
    sup_world: SupervisorsWorld, district: Visit
) -> None:
    day = sup_world.as_of.isoformat()
    html = await (await _get(district, f"/league?as_of={day}")).text()
    rows = re.findall(
        r'<tr data-unit="[^"]*">\s*<td[^>]*>(\d+)</td>\s*<th scope="row">([^<]*)</th>', html
    )
    assert [name for _, name in rows] == [UNIT_NAME, OTHER_UNIT]  # the hospital fulfilled one
    assert rows[0][0] == "1"
    # Each row's counts and rates are the unit's figures within the district.
    d = sup_world.world.district
    units = await sup_world.api.actor("district_admin", d.district_id).get(
        "evaluation", "/ledger/units", scope="district", id=d.district_id, as_of=day
    )
    for unit in units["items"]:
        row = re.search(rf'<tr data-unit="{unit["unit_id"]}">(.*?)</tr>', html, re.S)
        assert row, unit["name"]
        cells = dict(re.findall(r'data-label="([^"]*)"[^>]*>([^<]*)</td>', row.group(1)))
        f = unit["figures"]
        assert cells["共建协议"] == str(unit["agreements_count"])
        assert (cells["已签约"], cells["已履约"], cells["已逾期"]) == (
            str(f["signed"]),
            str(f["fulfilled"]),
            str(f["overdue"]),
        )
        expected = _expected(f)
        assert cells["履约率"] == expected["fulfilment_rate"]
        assert cells["按期履约率"] == expected["on_time_rate"]


async def test_a_unit_administrator_has_no_supervisors_pages(sup_world: SupervisorsWorld) -> None:
    world = sup_world.world
    person = world.issuer.add("wang.fang", "王芳")
    world.access.grant(person, "unit_admin", world.district.unit_id, UNIT_NAME)
    visit = await _sign_in(world, "wang.fang")
    try:
        for path in ("/overview", "/overdue", "/league", "/overdue/export.csv"):
            response = await visit.context.request.get(world.console_url + path)
            assert response.status == 404, path
    finally:
        await visit.context.close()


# -- the exports ----------------------------------------------------------------------------


def _read(path: Any) -> bytes:
    return Path(path).read_bytes()


def _sheet(content: bytes) -> list[list[Any]]:
    ws = load_workbook(io.BytesIO(content)).active
    assert ws is not None
    return [list(r) for r in ws.iter_rows(values_only=True)]


async def test_an_overdue_export_has_chinese_headers_names_and_yuan_and_equals_the_table(
    sup_world: SupervisorsWorld, street: Visit
) -> None:
    day = sup_world.as_of.isoformat()
    response = await _get(street, f"/overdue/export.xlsx?as_of={day}")
    rows = _sheet(await response.body())
    assert rows[0] == ["逾期清单"] or rows[0][0] == "逾期清单"
    assert rows[1][:2] == ["范围", STREET_NAME]
    assert rows[2][0] == "截至"
    header_at = next(i for i, r in enumerate(rows) if r and r[0] == "街道")
    header = rows[header_at]
    assert header == [
        "街道",
        "社区",
        "共建单位",
        "承诺事项",
        "类别",
        "完成时限",
        "逾期天数",
        "资金（元）",
    ]
    data = rows[header_at + 1 :]
    html = await (await _get(street, f"/overdue?as_of={day}")).text()
    on_screen = re.findall(
        r'<tr data-commitment="[^"]*">\s*<th scope="row"><a [^>]*>([^<]*)</a>(?: <span[^>]*>[^<]*</span>)?</th>\s*'
        r"<td[^>]*>([^<]*)</td>\s*<td[^>]*>([^<]*?)(?: <span[^>]*>[^<]*</span>)?</td>\s*"
        r'<td[^>]*>([^<]*)</td>\s*<td[^>]*>([^<]*)</td>.*?data-fen="(\d+)"',
        html,
        re.S,
    )
    assert len(on_screen) == len(data) == 2
    for (title, unit, community, category, deadline, fen), row in zip(on_screen, data, strict=True):
        assert row[0] == STREET_NAME
        assert (row[1], row[2], row[3], row[4], row[5]) == (
            community,
            unit,
            title,
            category,
            deadline,
        )
        assert Decimal(str(row[7])) == Decimal(fen) / 100
    assert any(Decimal(str(r[7])) == Decimal("3500.50") for r in data)
    csv_text = (await (await _get(street, f"/overdue/export.csv?as_of={day}")).body()).decode(
        "utf-8-sig"
    )
    assert "资金（元）" in csv_text and "3500.50" in csv_text and OTHER_UNIT in csv_text


async def test_the_dashboard_and_league_exports_carry_names_and_rates(
    sup_world: SupervisorsWorld, district: Visit
) -> None:
    day = sup_world.as_of.isoformat()
    rows = _sheet(await (await _get(district, f"/overview/export.xlsx?as_of={day}")).body())
    assert rows[1][:2] == ["范围", "示范区"]
    header_at = next(i for i, r in enumerate(rows) if r and r[0] == "街道")
    assert "履约率（按项数）" in rows[header_at] and "签约金额（元）" in rows[header_at]
    assert [r[0] for r in rows[header_at + 1 :]] == ["示范区", STREET_NAME]
    league = _sheet(await (await _get(district, f"/league/export.xlsx?as_of={day}")).body())
    header_at = next(i for i, r in enumerate(league) if r and r[0] == "名次")
    assert [r[1] for r in league[header_at + 1 :]] == [UNIT_NAME, OTHER_UNIT]


async def test_a_large_export_runs_in_the_background(
    sup_world: SupervisorsWorld, street: Visit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "INLINE_ROWS", 0)
    page = street.page
    day = sup_world.as_of.isoformat()
    await page.goto(f"{sup_world.world.console_url}/overdue/export.xlsx?as_of={day}")
    await page.wait_for_url(re.compile(r"/exports/[\w-]+$"))
    link = page.get_by_role("link", name="下载文件")
    await link.wait_for(timeout=30_000)  # htmx polls until the file is ready
    async with page.expect_download() as waiting:
        await link.click()
    download = await waiting.value
    rows = _sheet(_read(await download.path()))
    assert any(r and r[3] == LATE_TITLE for r in rows)
    await street.look("supervisor-export-ready")


# -- in the browser ---------------------------------------------------------------------------


async def test_a_street_secretary_drills_down_to_a_commitment_and_exports(
    sup_world: SupervisorsWorld, street: Visit
) -> None:
    page = street.page
    await page.goto(sup_world.world.console_url + "/")
    await page.get_by_role("link", name="履约总览").click()
    await page.get_by_role(
        "heading", name=re.compile(f"履约总览.*{STREET_NAME}"), level=1
    ).wait_for()
    assert (await page.locator("[data-rate='fulfilment_rate']").first.inner_text()).endswith("%")
    await page.wait_for_function("() => document.querySelector('#rates-chart canvas') !== null")
    await street.look("supervisor-overview-street")

    await page.get_by_role("link", name=COMMUNITY_NAME).click()
    await page.get_by_role("heading", name=re.compile(COMMUNITY_NAME), level=1).wait_for()
    await street.look("supervisor-overview-community")
    await page.get_by_role("link", name=UNIT_NAME).click()
    await page.get_by_role("heading", name=re.compile(UNIT_NAME), level=1).wait_for()
    await street.look("supervisor-overview-unit")
    await page.locator("table.drill tbody a").first.click()
    await page.get_by_role("heading", name=re.compile("共建协议"), level=1).wait_for()
    await street.look("supervisor-overview-agreement")
    await page.get_by_role("link", name="组织党员到医院开展政策宣讲").click()
    await page.get_by_role(
        "heading", name=re.compile("组织党员到医院开展政策宣讲"), level=1
    ).wait_for()
    await street.look("supervisor-overview-commitment")
    # The trail leads back up, by name.
    trail = page.get_by_role("navigation", name="当前位置")
    for name in (STREET_NAME, COMMUNITY_NAME, UNIT_NAME):
        await trail.get_by_role("link", name=name).wait_for()

    await page.get_by_role("link", name="逾期清单").click()
    await page.get_by_role("heading", name="逾期清单", level=1).wait_for()
    table = page.get_by_role("table", name=re.compile("逾期承诺"))
    await table.get_by_role("link", name=LATE_TITLE).wait_for()
    assert OTHER_UNIT in await table.inner_text()
    await street.look("supervisor-overdue")
    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="导出 Excel").click()
    download = await waiting.value
    assert download.suggested_filename.endswith(".xlsx")
    rows = _sheet(_read(await download.path()))
    assert any(r and r[2] == OTHER_UNIT for r in rows)

    await page.get_by_role("link", name="单位排名").click()
    await page.get_by_role("heading", name="单位排名", level=1).wait_for()
    await street.look("supervisor-league")
    assert not street.errors, street.errors


async def test_a_district_secretary_sees_the_district(
    sup_world: SupervisorsWorld, district: Visit
) -> None:
    page = district.page
    await page.goto(sup_world.world.console_url + "/overview")
    await page.get_by_role("heading", name=re.compile("示范区"), level=1).wait_for()
    await page.get_by_role("link", name=STREET_NAME).wait_for()
    await district.look("supervisor-overview-district")
    await page.goto(sup_world.world.console_url + "/overdue")
    await page.get_by_label("街道").select_option(label=STREET_NAME)
    await page.get_by_role("button", name="筛选").click()
    await page.get_by_role("link", name=LATE_TITLE).wait_for()
    await district.look("supervisor-overdue-district")


# -- the parties directory ------------------------------------------------------------------


def _parties_file(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["类型", "名称", "编码", "上级编码", "单位类型", "结对社区编码（多个用;分隔）"])
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def test_the_directory_lists_the_street_with_its_pairings(
    sup_world: SupervisorsWorld, street: Visit
) -> None:
    html = await (await _get(street, "/parties")).text()
    for name in (COMMUNITY_NAME, OTHER_COMMUNITY, UNIT_NAME, OTHER_UNIT):
        assert name in html, name
    row = re.search(rf'data-party="{sup_world.other_unit}">(.*?)</tr>', html, re.S)
    assert row and OTHER_COMMUNITY in row.group(1)


async def test_a_street_secretary_imports_communities_and_renames_one(
    sup_world: SupervisorsWorld, street: Visit
) -> None:
    page = street.page
    url = sup_world.world.console_url
    await page.goto(url + "/parties")
    await street.look("supervisor-parties")
    await page.get_by_role("link", name="从 Excel 导入").click()
    await page.get_by_role("heading", name="从 Excel 导入名录", level=1).wait_for()
    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="下载导入模板").click()
    template = _sheet(_read(await (await waiting.value).path()))
    assert template[0][:3] == ["类型", "名称", "编码"]

    bad = _parties_file(
        [
            ["社区", "新华里社区", "C-XH", "S1", "", ""],
            ["社区", "东风社区", "C-DF", "NO-SUCH", "", ""],
            ["楼栋", "一号楼", "", "C-XH", "", ""],
        ]
    )
    await page.get_by_label("名录文件").set_input_files(
        {
            "name": "名录.xlsx",
            "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "buffer": bad,
        }
    )
    await page.get_by_role("button", name="导入").click()
    errors = page.get_by_role("table", name="逐行问题")
    await errors.wait_for()
    text = await errors.inner_text()
    assert "第 4 行" in text and "楼栋" in text  # this side: a type no one knows
    await street.look("supervisor-parties-import-errors")

    bad = _parties_file(
        [
            ["社区", "新华里社区", "C-XH", "S1", "", ""],
            ["社区", "东风社区", "C-DF", "NO-SUCH", "", ""],
        ]
    )
    await page.get_by_label("名录文件").set_input_files(
        {
            "name": "名录.xlsx",
            "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "buffer": bad,
        }
    )
    await page.get_by_role("button", name="导入").click()
    await errors.wait_for()
    text = await errors.inner_text()
    assert "第 3 行" in text and "NO-SUCH" in text  # the service's: an unknown parent code
    assert "新华里社区" not in await (await _get(street, "/parties")).text()  # none imported

    good = _parties_file(
        [
            ["社区", "新华里社区", "C-XH", "S1", "", ""],
            ["网格", "新华里一网格", "G-XH1", "C-XH", "", ""],
        ]
    )
    await page.get_by_label("名录文件").set_input_files(
        {
            "name": "名录.xlsx",
            "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "buffer": good,
        }
    )
    await page.get_by_role("button", name="导入").click()
    await page.get_by_role("heading", name="共建单位名录", level=1).wait_for()
    await page.get_by_text("已导入 2 个").wait_for()
    await page.get_by_role("link", name="新华里一网格").wait_for()

    await page.get_by_role("link", name="新华里社区").click()
    await page.get_by_role("textbox", name="名称").fill("新华里社区（东区）")
    await page.get_by_role("button", name="保存", exact=True).click()
    await page.get_by_role("heading", name="新华里社区（东区）", level=1).wait_for()
    history = page.get_by_role("table", name="历次版本")
    assert await history.locator("tbody tr").count() == 2
    assert "新华里社区" in await history.locator("tbody tr").nth(1).inner_text()
    await street.look("supervisor-party")


async def test_a_district_secretary_pairs_a_unit_and_the_history_keeps_it(
    sup_world: SupervisorsWorld, district: Visit
) -> None:
    page = district.page
    d = sup_world.world.district
    await page.goto(f"{sup_world.world.console_url}/parties/{d.unit_id}")
    await page.get_by_role("heading", name=UNIT_NAME, level=1).wait_for()
    pairing = page.get_by_role("group", name="勾选与本单位结对的社区")
    assert await pairing.get_by_label(COMMUNITY_NAME).is_checked()
    await pairing.get_by_label(OTHER_COMMUNITY).check()
    await page.get_by_role("button", name="保存结对关系").click()
    await page.get_by_text("结对关系已保存。").wait_for()
    history = page.get_by_role("table", name="历次版本")
    newest = await history.locator("tbody tr").first.inner_text()
    assert COMMUNITY_NAME in newest and OTHER_COMMUNITY in newest and "本人" in newest
    assert OTHER_COMMUNITY not in await history.locator("tbody tr").nth(1).inner_text()
    await district.look("supervisor-party-unit")
    # The directory shows the unit under both communities.
    html = await (await _get(district, "/parties")).text()
    row = re.search(rf'data-party="{d.unit_id}">(.*?)</tr>', html, re.S)
    assert row and COMMUNITY_NAME in row.group(1) and OTHER_COMMUNITY in row.group(1)


async def test_the_pages_read_in_english_too(sup_world: SupervisorsWorld, street: Visit) -> None:
    page = street.page
    url = sup_world.world.console_url
    await page.goto(url + "/overview")
    await page.get_by_role("button", name="English").click()
    try:
        await page.get_by_role("heading", name=f"Overview: {STREET_NAME}", level=1).wait_for()
        await page.get_by_role("link", name="Overdue list").click()
        table = page.get_by_role("table", name=re.compile("Overdue commitments as of"))
        await table.get_by_role("link", name=LATE_TITLE).wait_for()
        assert "CN¥3,500.50" in await table.inner_text()
        await page.get_by_role("link", name="Unit league table").click()
        await page.get_by_role("columnheader", name="Fulfilment rate").wait_for()
        rows = _sheet(await (await _get(street, "/league/export.xlsx")).body())
        assert rows[1][0] == "Scope" and any(r and r[0] == "Rank" for r in rows)
        await street.look("supervisor-league-en")
    finally:
        await page.get_by_role("button", name="中文").click()
        await page.get_by_role("heading", name="单位排名", level=1).wait_for()
