"""The workbench against the real provider and the real access service, on the stack
`cobuild run` starts (Canaille, the mail catcher, the access service, the services and the
console, on free ports):

a street secretary signs in and invites a community worker on 邀请; the worker opens the
console's invitation link in Chromium, signs in on Canaille's own page, comes back to the invitation, accepts it, lands on
我的待办 acting for her community, and publishes a need on 需求清单; the secretary revokes her
grant and her next page load is refused. Everything she sees is read from the page. The
invitation page is photographed at 1280 and 390 px into var/screenshots/console/."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from cobuild_console.runtime import NODE_MODULES
from cobuild_kit.scim import NewUser
from cobuild_scenario.actors import Api, Tokens
from cobuild_scenario.pace import Quiescence
from cobuild_stack import accounts
from cobuild_stack.launcher import SERVICES, Stack, StackConfig
from cobuild_stack.provider import ProviderSettings

from tests.provider.provider_support import CHROMIUM, chromium_or_skip

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(420)]

PASSWORD = "Gongjian-2026!"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "console"
WIDTHS = {"1280": (1280, 900), "390": (390, 844)}
COMMUNITY = "幸福里社区"
OTHER_COMMUNITY = "和平社区"
REFUSED_WITHIN_S = 10.0  # the services refuse within 5 s; a page load takes some of it


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack() -> AsyncIterator[dict[str, Any]]:
    root = Path(tempfile.mkdtemp(prefix="cobuild-console-signin-"))
    os.chmod(root, 0o755)  # as root, PostgreSQL runs as nobody and must reach var/pg
    config = StackConfig.from_env(
        {},
        var_dir=root / "var",
        service_ports={name: 0 for name in SERVICES},
        partitions=1,
        test_mode=True,
        console_port=0,
        provider=ProviderSettings(port=0),
        # As behind an ingress on this machine: the console believes its X-Forwarded-For.
        extra_env={"COBUILD_CONSOLE_TRUSTED_PROXIES": "127.0.0.1"},
    )
    running = Stack(config)
    info = await running.start()
    try:
        yield dict(info)
    finally:
        await running.stop()
        shutil.rmtree(root, ignore_errors=True)


async def _exchange(api: Api, subject_token: str, grant_id: str | None) -> str:
    answer = await api.request(
        "access", "POST", "/exchange", json={"subject_token": subject_token, "grant_id": grant_id}
    )
    return str(answer.json()["access_token"])


async def _directory(api: Api) -> dict[str, str]:
    """A district, a street and two communities, through the agreements API with a
    development token (as the main job bootstraps it); the access service learns them."""
    district_id = str(uuid.uuid4())
    district = api.actor("district_admin", district_id)
    await district.post(
        "agreements",
        "/parties",
        {"party_id": district_id, "kind": "district", "name": "示范区", "code": "D1"},
    )
    street = await district.post(
        "agreements",
        "/parties",
        {"kind": "street", "name": "东湖街道", "code": "S1", "parent_id": district_id},
    )
    ids = {"D1": district_id, "S1": str(street["party_id"])}
    for code, name in (("C1", COMMUNITY), ("C2", OTHER_COMMUNITY)):
        made = await district.post(
            "agreements",
            "/parties",
            {"kind": "community", "name": name, "code": code, "parent_id": ids["S1"]},
        )
        ids[code] = str(made["party_id"])
    await Quiescence(api, api.tokens.token("operator", district_id)).wait()
    return ids


async def _street_secretary(api: Api, provider: dict[str, Any], ids: dict[str, str]) -> str:
    """The district admin bootstrapped (as `cobuild access grant` does), who grants the
    street's secretary: her Cobuild token."""
    await accounts.provision(
        provider,
        *(
            NewUser(user_name=u, display_name=n, family_name=n[0], password=PASSWORD)
            for u, n in (("district-admin", "示范区管理员"), ("zhou.street", "周建国"))
        ),
    )
    operator = api.tokens.token("operator", ids["D1"])
    bootstrapped = await api.request(
        "access",
        "POST",
        "/bootstrap/grants",
        token=operator,
        json={"subject": "district-admin", "role": "district_admin", "party_id": ids["D1"]},
        ok=(201,),
    )
    da = await _exchange(
        api,
        (await accounts.sign_in(provider, "district-admin", PASSWORD)).access_token,
        bootstrapped.json()["grant_id"],
    )
    granted = await api.request(
        "access",
        "POST",
        "/grants",
        token=da,
        json={"subject": "zhou.street", "role": "street_admin", "party_id": ids["S1"]},
        ok=(201,),
    )
    return await _exchange(
        api,
        (await accounts.sign_in(provider, "zhou.street", PASSWORD)).access_token,
        granted.json()["grant_id"],
    )


async def _look(page: Any, name: str) -> None:
    """Screenshots at both widths, and axe at each: no serious or critical violation."""
    axe = (NODE_MODULES / "axe-core" / "axe.min.js").read_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, (width, height) in WIDTHS.items():
        await page.set_viewport_size({"width": width, "height": height})
        await page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
        await page.evaluate(axe + "\n;true")
        found = await page.evaluate(
            "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a',"
            " 'wcag21aa', 'best-practice']})).violations.map(v => ({id: v.id, impact: v.impact,"
            " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"
        )
        bad = [v for v in found if v["impact"] in ("serious", "critical")]
        assert not bad, f"{name} at {label} px: {bad}"
    await page.set_viewport_size({"width": 1280, "height": 900})


async def _provider_sign_in(page: Any, login: str) -> None:
    """Canaille's own pages: the login, then the password."""
    await page.fill("input[name=login]", login)
    await page.click("button[name=answer]")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit].primary")


async def test_an_invited_worker_signs_in_accepts_acts_and_is_refused_once_revoked(
    stack: dict[str, Any],
) -> None:
    await asyncio.to_thread(chromium_or_skip)
    started = time.monotonic()
    api = Api({n: s["url"] for n, s in stack["services"].items()}, Tokens(stack["keys"]))
    try:
        await _play(api, stack, started)
    finally:
        await api.aclose()


async def _play(api: Api, info: dict[str, Any], started: float) -> None:
    from playwright.async_api import async_playwright

    provider, console = info["provider"], info["console"]["url"]
    ids = await _directory(api)
    secretary = await _street_secretary(api, provider, ids)
    await accounts.provision(
        provider,
        NewUser(user_name="li.juan", display_name="李娟", family_name="李", password=PASSWORD),
    )
    set_up = time.monotonic()

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            # The secretary signs in at her desk and invites the worker on 邀请.
            desk = await browser.new_context(
                locale="zh-CN", viewport={"width": 1280, "height": 900}
            )
            page = await desk.new_page()
            await page.goto(console + "/")
            await page.get_by_role("link", name="登录").click()
            await _provider_sign_in(page, "zhou.street")
            await page.wait_for_url(console + "/**")
            await page.get_by_role("link", name="邀请").click()
            await page.get_by_role("heading", name="邀请", level=1).wait_for()
            await page.get_by_label("身份").select_option(label="社区工作者")
            await page.get_by_label("所属组织").select_option(label=COMMUNITY)
            await page.get_by_label("电子邮箱（可不填）").fill("li.juan@example.cn")
            await page.get_by_role("button", name="生成邀请").click()
            await page.get_by_text("邀请已生成，请把链接或二维码交给对方。").wait_for()
            link = await page.get_by_label("邀请链接", exact=True).input_value()
            assert link.startswith(f"{console}/invite/"), link
            await page.get_by_role("img", name="邀请链接的二维码").wait_for()
            row = await page.get_by_role("row", name=f"社区工作者 {COMMUNITY}").inner_text()
            assert "待接受" in row and "已发邮件" in row, row
            await _look(page, "inviting")
            await desk.close()
            listed = await api.request("access", "GET", "/invitations", token=secretary)
            invited_id = listed.json()["items"][0]["invitation_id"]

            context = await browser.new_context(
                locale="zh-CN", viewport={"width": 1280, "height": 900}
            )
            page = await context.new_page()

            # The link sends her to sign in on the provider's page, then back to it.
            await page.goto(link)
            assert page.url.startswith(provider["issuer"]), page.url
            await _provider_sign_in(page, "li.juan")
            try:
                await page.wait_for_url(link)
            except Exception:
                body = await page.locator("body").inner_text()
                log = (await asyncio.to_thread(Path(info["console"]["log"]).read_text))[-3000:]
                raise AssertionError(
                    f"not back at the link: {page.url}\n{body[:300]}\n{log}"
                ) from None
            lead = page.locator(".invitation .lead")
            assert await lead.inner_text() == f"邀请您担任{COMMUNITY}的社区工作者。"
            facts = await page.locator(".invitation .facts").inner_text()
            assert "有效期至" in facts and "李娟" in facts, facts
            await _look(page, "invitation")

            # She accepts: 我的待办, acting for her community.
            await page.get_by_role("button", name="接受邀请").click()
            await page.wait_for_url(console + "/")
            await page.get_by_text(f"已接受邀请，当前身份：{COMMUNITY} 社区工作者。").wait_for()
            who = await page.locator(".who").inner_text()
            assert who.endswith(f"当前身份：{COMMUNITY} 社区工作者"), who
            assert await page.get_by_role("heading", level=1).first.inner_text() == "我的待办"
            accepted = time.monotonic()

            # The link is spent: opened again, it says so.
            answer = await page.goto(link)
            assert answer is not None and answer.status == 409
            assert await page.get_by_role("heading", level=1).inner_text() == "此邀请已被使用"
            await _look(page, "invitation-used")

            # 需求清单: she publishes a need for her community, read back from the list.
            await page.goto(console + "/")
            await page.get_by_role("link", name="需求清单").click()
            title = "为独居老人上门理发"
            await page.get_by_label("标题").fill(title)
            await page.locator("#publish").get_by_label("类别").select_option(label="幸福小区")
            await page.locator("#publish").get_by_label("类型").select_option("task")
            await page.get_by_label("数量", exact=True).fill("20")
            await page.get_by_label("数量单位").fill("人次")
            await page.get_by_label("资金（元）").fill("800")
            wanted = (date.today() + timedelta(days=60)).isoformat()
            await page.get_by_label("期望完成日期").fill(wanted)
            await page.get_by_role("button", name="发布", exact=True).click()
            await page.get_by_text(f"需求“{title}”已发布。").wait_for()
            row = await page.get_by_role("row", name=title).inner_text()
            assert "¥800.00" in row, row

            # The secretary revokes her grant: her next page load is refused.
            shown = await api.request(
                "access",
                "GET",
                f"/invitations/{invited_id}",
                token=secretary,
            )
            grant_id = shown.json()["grant_id"]
            await api.request(
                "access",
                "DELETE",
                f"/grants/{grant_id}",
                token=secretary,
                params={"reason": "调离本社区"},
            )
            revoked = time.monotonic()
            while time.monotonic() - revoked < REFUSED_WITHIN_S:
                await page.goto(console + "/needs")
                if not page.url.startswith(console + "/needs"):
                    break
                await asyncio.sleep(0.2)
            took = time.monotonic() - revoked
            assert page.url == console + "/roles", page.url
            note = await page.locator(".flash").inner_text()
            assert f"您在{COMMUNITY}的社区工作者身份已被撤销。" in note, note
            assert "尚未选择身份" in await page.locator(".who").inner_text()
            assert await page.get_by_role("link", name="需求清单").count() == 0
            await _look(page, "role-withdrawn")
            await context.close()

            # Dead links say why before any sign-in: withdrawn (410) and never issued (404).
            second = await api.request(
                "access",
                "POST",
                "/invitations",
                token=secretary,
                json={"role": "community_admin", "party_id": ids["C1"]},
                ok=(201,),
            )
            await api.request(
                "access",
                "DELETE",
                f"/invitations/{second.json()['invitation_id']}",
                token=secretary,
            )
            stranger = await browser.new_context(locale="zh-CN")
            page = await stranger.new_page()
            for url, status, heading in (
                (second.json()["link"], 410, "此邀请已被撤回"),
                (f"{console}/invite/{'x' * 43}", 404, "邀请链接无效"),
            ):
                answer = await page.goto(url)
                assert answer is not None and answer.status == status, url
                assert await page.get_by_role("heading", level=1).inner_text() == heading
            await stranger.close()
        finally:
            await browser.close()
    print(
        f"set-up {set_up - started:.1f} s; invitation opened, signed in and accepted "
        f"{accepted - set_up:.1f} s; page refused {took:.2f} s after the revoke answered"
    )


async def test_invitation_links_are_limited_per_browser_not_for_the_whole_console(
    stack: dict[str, Any],
) -> None:
    """The access service allows 30 invitation-link lookups a minute per address. Every
    invitee opens the link at the console, so the console forwards the browser's address
    and the access service believes it from the console (the launcher's trusted proxy):
    one browser that guesses links is stopped, the next person's link still opens."""
    console = stack["console"]["url"]

    async def open_link(address: str) -> int:
        async with httpx.AsyncClient(headers={"X-Forwarded-For": address}) as browser:
            answer = await browser.get(f"{console}/invite/{secrets.token_urlsafe(32)}")
            return answer.status_code

    guesses = [await open_link("10.20.30.40") for _ in range(30)]
    assert set(guesses) == {404}  # never issued: the page says the link is not valid
    assert await open_link("10.20.30.40") == 429
    assert await open_link("10.20.30.41") == 404  # someone else is not held up
