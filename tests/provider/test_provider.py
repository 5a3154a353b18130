"""The embedded OpenID Connect provider (Canaille), for real: started on free ports against the
test PostgreSQL with the mail catcher beside it; accounts provisioned through SCIM; a full
browser sign-in (authorization code with PKCE) in Debian's Chromium; its pages in Chinese;
client-credentials tokens introspected; one-time codes landing in the catcher."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import pytest_asyncio
from cobuild_kit.scim import NewUser, ScimClient
from cobuild_stack.accounts import (
    client_credentials,
    introspect,
    pkce_pair,
    provision,
    sign_in,
)
from cobuild_stack.errors import StackError
from cobuild_stack.mailcatcher import read_messages, wait_for_message
from cobuild_stack.provider import Provider
from cobuild_stack.testing import PgServer
from provider_support import (
    SCREENSHOTS,
    RedirectTarget,
    RunningProvider,
    chromium_or_skip,
    running_provider,
    verify_id_token,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

WANG = NewUser(
    user_name="wang.fang",
    display_name="王芳",
    family_name="王",
    given_name="芳",
    email="wangfang@community.example",
    phone="+8613800138001",
    password="Gongjian-2026",
)


# Signs in wrongly: Canaille then makes the account wait before its next attempt.
ZHAO = NewUser("zhao.lei", "赵磊", "赵", "磊", password="Zhaolei-2026")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def target() -> AsyncIterator[RedirectTarget]:
    listener = RedirectTarget()
    await listener.start()
    yield listener
    await listener.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def idp(pg_server: PgServer, target: RedirectTarget) -> AsyncIterator[RunningProvider]:
    started = time.monotonic()
    async with running_provider(pg_server, console_url=target.url) as running:
        print(f"provider ready and clients registered in {time.monotonic() - started:.1f}s")
        await provision(running.info, WANG)
        yield running


# -- configuration and clients -----------------------------------------------------------


async def test_discovery_offers_pkce_and_tokens_live_minutes(idp: RunningProvider) -> None:
    async with httpx.AsyncClient() as client:
        meta = (await client.get(f"{idp.info['url']}/.well-known/openid-configuration")).json()
    assert meta["issuer"] == idp.info["issuer"] == idp.provider.url
    assert "S256" in meta["code_challenge_methods_supported"]
    assert meta["token_endpoint"] == idp.info["token_endpoint"]
    token = await client_credentials(idp.info, idp.info["clients"]["integration"])
    assert token.expires_in == 300  # not Canaille's default of 10 days
    # The configuration and keys are the owner's alone.
    for name in ("canaille.toml", "jwks.json", "client-secrets.json", "secret-key.json"):
        assert (idp.provider.files.root / name).stat().st_mode & 0o077 == 0


async def test_clients_registered_once_and_kept(idp: RunningProvider) -> None:
    clients = idp.info["clients"]
    assert clients["console"]["client_secret"] == ""  # public: PKCE
    assert clients["console"]["redirect_uri"] == idp.provider.console_url + "/signin/callback"
    assert clients["integration"]["client_secret"] and clients["access"]["client_secret"]
    again = await idp.provider.register_clients()  # a relaunch: nothing to make or change
    assert again == clients

    # The console moves (another public URL): its client is brought up to date, in place.
    elsewhere = Provider(
        idp.provider.files.root,
        idp.provider.settings,
        idp.provider.database_url,
        mail=idp.mail.info(),
        log_path=idp.provider.log_path,
        port=idp.provider.port,
        console_url="https://gongjian.example.org",
    )
    elsewhere.discovery = idp.provider.discovery
    try:
        moved = await elsewhere.register_clients()
        assert moved["console"]["redirect_uri"] == "https://gongjian.example.org/signin/callback"
        dump = {c["client_id"]: c for c in await _dump_clients(idp)}
        assert dump["cobuild-console"]["redirect_uris"] == [moved["console"]["redirect_uri"]]
        assert len(dump["cobuild-console"]["audience"]) == 2
    finally:
        assert await idp.provider.register_clients() == clients  # and back
    dump = {c["client_id"]: c for c in await _dump_clients(idp)}
    assert sorted(dump) == ["cobuild-access", "cobuild-console", "cobuild-integration"]
    assert dump["cobuild-console"]["redirect_uris"] == [clients["console"]["redirect_uri"]]


async def _dump_clients(idp: RunningProvider) -> list[dict[str, Any]]:
    dumped: list[dict[str, Any]] = json.loads(await idp.provider.cli("dump", "client"))["client"]
    return dumped


# -- accounts --------------------------------------------------------------------------


async def test_accounts_are_provisioned_through_scim(idp: RunningProvider) -> None:
    lin = NewUser(
        "lin.hai", "林海", "林", "海", email="linhai@unit.example", phone="+8613900000002"
    )
    [(made, created)] = await provision(idp.info, lin)
    assert created and made.user_name == "lin.hai" and made.display_name == "林海"
    [(same, created_again)] = await provision(idp.info, lin)  # seeding twice changes nothing
    assert not created_again and same.id == made.id
    token = await client_credentials(idp.info, idp.info["clients"]["access"])
    async with ScimClient(idp.info["scim_url"], token.access_token) as scim:
        found = await scim.find_user("lin.hai")
        assert found is not None and found.phones == ("+8613900000002",)
        assert await scim.get_user("nobody.here") is None
    # The hash cost is the setting's (1,000 rounds here), read back through Canaille's CLI.
    users = json.loads(await idp.provider.cli("get", "user", "--user-name", "wang.fang"))
    assert users[0]["password"].startswith("$pbkdf2-sha512$1000$")


# -- tokens ----------------------------------------------------------------------------


async def test_client_credentials_token_is_introspected(idp: RunningProvider) -> None:
    token = await client_credentials(idp.info, idp.info["clients"]["integration"])
    assert token.access_token.count(".") != 2  # opaque, not a JWT: it must be introspected
    answer = await introspect(idp.info, token.access_token)
    assert answer["active"] is True
    assert answer["client_id"] == "cobuild-integration"
    assert answer["iss"] == idp.info["issuer"]
    assert 0 < answer["exp"] - time.time() <= 300
    assert (await introspect(idp.info, "not-a-token"))["active"] is False


async def test_headless_sign_in_gives_verifiable_tokens(idp: RunningProvider) -> None:
    tokens = await sign_in(idp.info, "wang.fang", WANG.password)
    claims = await verify_id_token(idp.info, tokens.id_token, "cobuild-console")
    assert claims["sub"] == "wang.fang" and claims["name"] == "王芳"
    assert claims["phone_number"] == WANG.phone
    # The user's access token is a JWT too, short-lived; the exchange may verify it offline.
    access = await verify_id_token(idp.info, tokens.access_token, "cobuild-access")
    assert int(str(access["exp"])) - int(str(access["iat"])) == 300
    assert (await introspect(idp.info, tokens.access_token))["sub"] == "wang.fang"
    await asyncio.sleep(1.1)  # Canaille's access token has no jti: one a second per person
    by_phone = await sign_in(idp.info, WANG.phone or "", WANG.password)
    assert (await verify_id_token(idp.info, by_phone.id_token, "cobuild-console"))["sub"] == (
        "wang.fang"
    )
    # A wrong password is refused (on an account of its own: a failure makes the next
    # attempt on that account wait, Canaille's intruder lockout).
    await provision(idp.info, ZHAO)
    with pytest.raises(StackError, match="refused: 登录失败"):
        await sign_in(idp.info, "zhao.lei", "wrong password")


# -- the browser -----------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def browser() -> AsyncIterator[Any]:
    executable = await asyncio.to_thread(chromium_or_skip)
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        await chromium.close()


def _authorization_url(idp: RunningProvider, challenge: str, state: str, nonce: str) -> str:
    console = idp.info["clients"]["console"]
    query = {
        "response_type": "code",
        "client_id": console["client_id"],
        "redirect_uri": console["redirect_uri"],
        "scope": "openid profile email phone",
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return f"{idp.info['authorization_endpoint']}?{urlencode(query)}"


@pytest.mark.browser
async def test_browser_sign_in_with_pkce(
    idp: RunningProvider, target: RedirectTarget, browser: Any
) -> None:
    verifier, challenge = pkce_pair()
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    try:
        await page.goto(_authorization_url(idp, challenge, "state-1", "nonce-1"))
        await page.fill("input[name=login]", "wang.fang")
        await page.click("button[name=answer]")
        await page.fill("input[name=password]", WANG.password or "")
        await page.click("button[type=submit].primary")
        query = await target.wait_for("/signin/callback")
        assert await page.locator("body").inner_text() == "已返回工作台"
    finally:
        await context.close()
    assert query["state"] == ["state-1"] and query["iss"] == [idp.info["issuer"]]
    console = idp.info["clients"]["console"]
    async with httpx.AsyncClient() as client:
        form = {
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": console["redirect_uri"],
            "client_id": console["client_id"],
        }
        refused = await client.post(idp.info["token_endpoint"], data=form)  # no verifier
        assert refused.status_code == 400, refused.text
        answer = await client.post(
            idp.info["token_endpoint"], data={**form, "code_verifier": verifier}
        )
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    claims = await verify_id_token(idp.info, tokens["id_token"], "cobuild-console")
    assert claims["sub"] == "wang.fang" and claims["nonce"] == "nonce-1"
    assert tokens["expires_in"] == 300 and tokens["refresh_token"]


async def _text(page: Any) -> str:
    return str(await page.locator("body").inner_text())


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
async def test_sign_in_pages_read_chinese(idp: RunningProvider, browser: Any, width: int) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _, challenge = pkce_pair()
    context = await browser.new_context(locale="zh-CN", viewport={"width": width, "height": 760})
    page = await context.new_page()
    try:
        await page.goto(_authorization_url(idp, challenge, "s", "n"))
        text = await _text(page)
        for words in ("登录契约化共建工作台", "账号", "记住我", "下一步"):
            assert words in text, (words, text)
        assert (
            await page.get_attribute("input[name=login]", "placeholder") == "用户名、手机号或邮箱"
        )
        assert await page.title() == "统一身份认证 - 契约化共建平台"
        await page.screenshot(path=str(SCREENSHOTS / f"login-{width}.png"), full_page=True)

        await page.fill("input[name=login]", "wang.fang")
        await page.click("button[name=answer]")
        await page.wait_for_selector("input[name=password]")
        text = await _text(page)
        for words in ("请输入该账号的密码。", "密码", "忘记密码", "切换账号", "登录"):
            assert words in text, (words, text)
        await page.screenshot(path=str(SCREENSHOTS / f"password-{width}.png"), full_page=True)

        # Signed in, then the console's sign-out sends her to the provider's logout page.
        await page.fill("input[name=password]", WANG.password or "")
        await page.click("button[type=submit].primary")
        await page.wait_for_url(re.compile(r".*/signin/callback.*"))
        await page.goto(
            f"{idp.info['end_session_endpoint']}?client_id=cobuild-console&"
            + urlencode({"post_logout_redirect_uri": idp.provider.console_url + "/signed-out"})
        )
        text = await _text(page)
        for words in ("确定要退出登录吗？", "保持登录", "退出"):
            assert words in text, (words, text)
        await page.screenshot(path=str(SCREENSHOTS / f"logout-{width}.png"), full_page=True)
        await page.get_by_role("button", name="退出", exact=True).click()
        await page.wait_for_url(re.compile(r".*/signed-out$"))
    finally:
        await context.close()

    # A wrong password, on an account of its own (the failure makes its next attempt wait).
    someone = NewUser(f"liu.yang.{width}", "刘洋", "刘", "洋", password="Liuyang-2026")
    await provision(idp.info, someone)
    context = await browser.new_context(locale="zh-CN", viewport={"width": width, "height": 760})
    page = await context.new_page()
    try:
        await page.goto(_authorization_url(idp, challenge, "s", "n"))
        await page.fill("input[name=login]", someone.user_name)
        await page.click("button[name=answer]")
        await page.fill("input[name=password]", "not her password")
        await page.click("button[type=submit].primary")
        await page.wait_for_selector("text=登录失败")
        assert "登录失败，请检查账号和密码。" in await _text(page)
        await page.screenshot(path=str(SCREENSHOTS / f"refused-{width}.png"), full_page=True)
    finally:
        await context.close()


# -- one-time codes --------------------------------------------------------------------


@pytest.mark.parametrize("step", ["email", "sms"])
async def test_one_time_code_lands_in_the_catcher(
    pg_server: PgServer, target: RedirectTarget, step: str
) -> None:
    async with running_provider(pg_server, console_url=target.url, factors=(step,)) as otp:
        await provision(otp.info, WANG)
        before = len(read_messages(otp.mail_log))
        caught: list[Any] = []

        async def from_catcher(asked: str) -> str:
            assert asked == step
            channel = "email" if step == "email" else "sms"
            message = await wait_for_message(
                otp.mail_log, lambda m: m.channel == channel, 15.0, after=before
            )
            caught.append(message)
            found = re.search(r"(?<!\d)(\d{6})(?!\d)", message.text)
            assert found, message.text
            return found.group(1)

        tokens = await sign_in(otp.info, "wang.fang", code_reader=from_catcher)
        claims = await verify_id_token(otp.info, tokens.id_token, "cobuild-console")
        assert claims["sub"] == "wang.fang"
    [message] = caught
    if step == "email":
        assert message.recipients == (WANG.email,)
        assert message.subject == "契约化共建平台登录验证码"
        assert "5分钟内有效" in message.text
    else:  # to her phone (Canaille 0.3.6 alone would send it to her email address)
        assert message.recipients == (WANG.phone,)
        assert message.sender == "Cobuild"
        assert message.text.startswith("【契约化共建平台】您的登录验证码为")
