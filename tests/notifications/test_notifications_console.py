"""The workbench's notification pages in Debian's Chromium against the real notifications
service (in-process, on the session's PostgreSQL and broker): a community worker signs in,
the header shows her unread count, /inbox lists what the events decided (in Chinese), mark
one read and mark all read change the count, and /settings/notifications saves her address,
frequency and quiet hours (a half-given quiet period is refused beside its field). Pages are
photographed at 1280 and 390 px into var/screenshots/console/ and scanned with axe-core."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from cobuild_console.app import create_app as console_app
from cobuild_console.runtime import NODE_MODULES
from cobuild_console.settings import ConsoleSettings
from cobuild_kit.clock import FixedClock
from cobuild_kit.service import create_app
from cobuild_kit.testing import caught_up, eventually
from cobuild_notifications.app import definition
from cobuild_stack.keys import ensure_dev_keys
from cobuild_stack.ports import free_port
from cobuild_stack.testing import PgServer
from console_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    FakeAccess,
    FakeIssuer,
    served,
)
from notifications_support import local, publish, sample, settings
from test_console_browser import _ensure_browser

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "console"
WIDTHS = {"1280": (1280, 900), "390": (390, 844)}


async def _look(page: Any, axe: str, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, (width, height) in WIDTHS.items():
        await page.set_viewport_size({"width": width, "height": height})
        await page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
        await page.evaluate(axe + "\n;true")
        result = await page.evaluate(
            "async () => { const r = await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']});"
            " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})); }"
        )
        bad = [v for v in result if v["impact"] in ("serious", "critical")]
        assert not bad, f"{name} at {label} px: {bad}"
        no_sideways = await page.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth"
        )
        assert no_sideways, f"{name} scrolls sideways at {label} px"
    await page.set_viewport_size({"width": 1280, "height": 900})


async def test_the_inbox_and_settings_pages(
    pg_server: PgServer, kafka_bootstrap: str, tmp_path: Path
) -> None:
    _ensure_browser()
    axe_path = NODE_MODULES / "axe-core" / "axe.min.js"
    if not axe_path.exists():
        pytest.fail(f"{axe_path} is missing: run `make` (npm ci in services/console)")
    from playwright.async_api import async_playwright

    keys = ensure_dev_keys(tmp_path / "keys")
    issuer = FakeIssuer()
    access = FakeAccess.with_dev_keys(issuer, tmp_path / "keys", keys.kid)
    worker = issuer.add("wang.notify", "王芳")
    community, unit, commitment = str(uuid.uuid4()), uuid.uuid4(), uuid.uuid4()
    access.grant(worker, "community_admin", community, "幸福社区")
    at = local(2026, 6, 20, 10)
    dsn = await pg_server.create_database("notifications_console")
    s = settings(dsn, kafka_bootstrap, None, jwt_public_keys_file=keys.public_keys,
                 jwt_issuer="cobuild-dev")  # fmt: skip
    service = create_app(definition(s, clock=FixedClock(at)))
    async with served(issuer.app()) as issuer_url:
        issuer.url = issuer_url
        async with served(access.app()) as access_url, served(service) as notifications_url:
            rt = service.state.runtime
            # The grant first: it and the commitment's events are on different topics.
            await publish(
                kafka_bootstrap, at,
                sample("grant.added", grant_id=uuid.uuid4(), subject=worker.sub,
                       role="community_admin", party_id=community),
            )  # fmt: skip
            await eventually(lambda: caught_up(rt), timeout=30)
            await publish(
                kafka_bootstrap, at,
                sample("commitment.opened", commitment_id=commitment, agreement_id=uuid.uuid4(),
                       community_id=community, unit_id=unit, obligor_party_id=unit,
                       beneficiary_party_id=community, title="为社区书屋配送新书",
                       deadline="2026-06-18"),
                sample("commitment.overdue", commitment_id=commitment,
                       agreement_id=uuid.uuid4(), deadline="2026-06-18"),
                sample("commitment.cancelled", commitment_id=commitment,
                       agreement_id=uuid.uuid4(), reason="协议终止"),
            )  # fmt: skip

            async def two() -> bool:
                async with rt.pool.acquire() as conn:
                    n = await conn.fetchval("SELECT count(*) FROM notifications")
                return bool(n == 2) and await caught_up(rt)

            await eventually(two, timeout=60)
            port = free_port()
            console = console_app(
                ConsoleSettings(
                    oidc_issuer=issuer.url, oidc_client_id=CLIENT_ID,
                    oidc_client_secret=CLIENT_SECRET, access_url=access_url,
                    public_url=f"http://127.0.0.1:{port}",
                    service_urls={"notifications": notifications_url},
                )
            )  # fmt: skip
            async with served(console, port) as console_url, async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path="/usr/bin/chromium",
                                                   args=["--no-sandbox"] if os.geteuid() == 0 else [])  # fmt: skip
                try:
                    await _walk(browser, console_url, axe_path.read_text())
                finally:
                    await browser.close()


async def _walk(browser: Any, console_url: str, axe: str) -> None:
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(console_url + "/")
    await page.get_by_role("link", name="登录").click()
    await page.get_by_label("用户名").fill("wang.notify")
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(console_url + "/**")
    # Only the notifications service runs here: go straight to the inbox (the to-do page
    # asks the others).
    await page.goto(console_url + "/inbox")

    badge = page.locator("nav a[href='/inbox'] .badge")
    await badge.wait_for()
    assert await badge.inner_text() == "2"
    items = page.locator("ul.inbox li")
    assert await items.count() == 2
    text = await page.locator("ul.inbox").inner_text()
    assert "任务「为社区书屋配送新书」已逾期" in text and "任务「为社区书屋配送新书」已取消" in text
    await _look(page, axe, "inbox")

    await items.nth(0).get_by_role("button", name="标为已读").click()
    await page.wait_for_url(console_url + "/inbox")
    assert await page.locator("nav a[href='/inbox'] .badge").inner_text() == "1"
    await page.get_by_role("button", name="全部标为已读").click()
    await page.wait_for_url(console_url + "/inbox")
    await page.locator(".flash").get_by_text("已将 1 条通知标为已读").wait_for()
    assert await page.locator("nav a[href='/inbox'] .badge").count() == 0

    await page.get_by_role("link", name="通知设置").click()
    await page.wait_for_url(console_url + "/settings/notifications")
    await _look(page, axe, "notification-settings")
    await page.get_by_label("电子邮件", exact=True).fill("wang@example.org")
    await page.get_by_label("发送频率").select_option("daily")
    await page.get_by_label("开始时间").fill("22:00")
    await page.get_by_role("button", name="保存").click()
    await page.locator("#n-quiet_end-error").wait_for()  # a start without an end
    assert (
        "免打扰时段需要填写开始和结束时间" in await page.locator("#n-quiet_end-error").inner_text()
    )
    await page.get_by_label("结束时间").fill("07:00")
    await page.get_by_role("button", name="保存").click()
    await page.locator(".flash").get_by_text("通知设置已保存。").wait_for()
    assert await page.get_by_label("电子邮件", exact=True).input_value() == "wang@example.org"
    assert await page.get_by_label("发送频率").input_value() == "daily"
    assert await page.get_by_label("开始时间").input_value() == "22:00"
    assert not errors, errors
    await context.close()
