"""The console's web edge without the services: money in yuan, the catalogues, the session
cookie, CSRF on every form, the security headers, sign-in at an OIDC issuer with PKCE and
the exchange, the role switch, sign-out, and refusals shown beside their field."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from cobuild_console import i18n
from cobuild_console.app import create_app
from cobuild_console.domain.money import MoneyInputError, fen_from_yuan, yuan_input
from cobuild_console.domain.refusals import field_messages
from cobuild_console.http.web import safe_next
from cobuild_console.sessions import COOKIE, SessionStore
from cobuild_console.settings import ConsoleSettings
from cobuild_stack.keys import ensure_dev_keys
from console_support import CLIENT_ID, CLIENT_SECRET, PASSWORD, FakeAccess, FakeIssuer, served
from fastapi.routing import APIRoute

PACKAGE = Path(i18n.__file__).parent


# -- money ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "fen"),
    [
        ("1200", 120000),
        ("1200.5", 120050),
        ("1,234.56", 123456),
        ("¥0.01", 1),
        ("", 0),
        (" 7 ", 700),
    ],
)
def test_yuan_typed_become_fen(typed: str, fen: int) -> None:
    assert fen_from_yuan(typed) == fen


@pytest.mark.parametrize("typed", ["12.345", "-5", "abc", "1e5", "1.2.3", "99999999999999"])
def test_bad_amounts_are_refused_with_a_reason(typed: str) -> None:
    with pytest.raises(MoneyInputError) as refused:
        fen_from_yuan(typed)
    assert refused.value.reason


def test_money_is_shown_in_yuan_with_two_decimals() -> None:
    token = i18n.current_locale.set("zh_CN")
    try:
        assert i18n.money(123456) == "¥1,234.56"
        assert i18n.money(5) == "¥0.05"
        assert yuan_input(120050) == "1200.50"
    finally:
        i18n.current_locale.reset(token)


def test_dates_and_times_read_in_shanghai() -> None:
    token = i18n.current_locale.set("zh_CN")
    try:
        assert i18n.day("2026-05-01") == "2026年5月1日"
        # 16:30 UTC is half past midnight the next day in Shanghai.
        assert i18n.moment("2026-05-01T16:30:00+00:00") == "2026-05-02 00:30"
    finally:
        i18n.current_locale.reset(token)


# -- the catalogues ---------------------------------------------------------------------------


def _extracted() -> set[str]:
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(PACKAGE), method_map, options_map=options
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_of_the_code_has_its_zh_cn_translation() -> None:
    """Extracted from the code and the templates as `make` does: each one must be in the
    zh_CN catalogue, translated and not fuzzy (a new message fails until it is translated)."""
    with (PACKAGE / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    untranslated = []
    for message_id in sorted(_extracted()):
        entry = catalog.get(message_id)
        strings = (
            []
            if entry is None
            else ([entry.string] if isinstance(entry.string, str) else list(entry.string))
        )
        if entry is None or entry.fuzzy or not all(strings):
            untranslated.append(message_id)
    assert not untranslated, f"messages without a zh_CN translation: {untranslated}"
    assert len(_extracted()) > 150  # the extraction itself found the pages' messages


def test_the_catalogue_keeps_the_placeholders_of_each_message() -> None:
    with (PACKAGE / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    for entry in catalog:
        if not entry.id:
            continue
        source = entry.id if isinstance(entry.id, str) else entry.id[0]
        strings = [entry.string] if isinstance(entry.string, str) else list(entry.string)
        wanted = set(re.findall(r"%\(\w+\)s", source))
        for text in strings:
            assert set(re.findall(r"%\(\w+\)s", text)) == wanted, source


def test_english_is_the_second_locale() -> None:
    token = i18n.current_locale.set("en")
    try:
        assert i18n.gettext("My to-do") == "My to-do"
    finally:
        i18n.current_locale.reset(token)
    assert i18n.gettext("My to-do") == "我的待办"


def test_a_refusal_is_put_beside_its_field_in_chinese() -> None:
    body = {
        "error": "validation",
        "message": "1 field refused",
        "field": "body.funds_fen",
        "fields": [
            {"field": "body.funds_fen", "message": "Input should be greater than or equal to 0"},
            {"field": "body.title", "message": "String should have at least 1 character"},
            {"field": "query.offset", "message": "Input should be a valid integer"},
        ],
    }
    found = field_messages(body, {"funds_fen": "funds_yuan"}, frozenset({"funds_yuan", "title"}))
    assert [(m.field, m.message_id) for m in found] == [
        ("funds_yuan", "Must be at least %(0)s."),
        ("title", "This field cannot be empty."),
        (None, "Enter a whole number."),
    ]
    assert i18n.gettext(found[1].message_id) == "此项不能为空。"


# -- sessions, CSRF, headers ------------------------------------------------------------------


def test_a_session_ends_when_idle_and_a_forged_cookie_names_none() -> None:
    store = SessionStore("secret", idle_s=60, max_count=10)
    session = store.create("zh_CN", now=1000.0)
    cookie = store.cookie_value(session)
    assert store.load(cookie, now=1030.0) is session
    assert store.load(cookie, now=1089.0) is session  # each request moves the idle clock
    assert store.load(cookie, now=1150.0) is None
    other = store.create("zh_CN", now=2000.0)
    assert store.load(store.cookie_value(other)[:-2] + "xx", now=2001.0) is None
    assert store.load(other.sid, now=2001.0) is None  # an unsigned id is not a cookie


def test_the_session_store_is_bounded() -> None:
    store = SessionStore("secret", idle_s=600, max_count=3)
    for n in range(5):
        store.create("zh_CN", now=float(n))
    assert len(store) == 3


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("/needs?status=published", "/needs?status=published"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil", "/"),
        (None, "/"),
    ],
)
def test_only_local_paths_are_followed_after_sign_in(target: str | None, kept: str) -> None:
    assert safe_next(target) == kept


@pytest_asyncio.fixture(loop_scope="session")
async def console() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ConsoleSettings(oidc_issuer="http://127.0.0.1:9"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8100") as client:
        yield client


async def test_the_cookie_is_httponly_and_samesite_and_headers_forbid_inline_script(
    console: httpx.AsyncClient,
) -> None:
    answer = await console.get("/")
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "form-action 'self' http://127.0.0.1:9" in csp
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["cache-control"] == "no-store"
    assert "<script>" not in answer.text and " style=" not in answer.text  # nothing inline
    assert "共建工作台" in answer.text and 'lang="zh-CN"' in answer.text


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for r in routes:
        if isinstance(r, APIRoute):
            yield r
        inner = getattr(r, "original_router", None) or getattr(r, "router", None)
        if inner is not None and hasattr(inner, "routes"):
            yield from _api_routes(list(inner.routes))


def _unsafe_routes() -> list[str]:
    app = create_app(ConsoleSettings())
    return sorted(
        re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", route.path)
        for route in _api_routes(list(app.routes))
        if route.methods & {"POST", "PUT", "PATCH", "DELETE"}
    )


def test_the_app_has_forms_to_protect() -> None:
    assert {"/signout", "/roles", "/needs", "/locale"} <= set(_unsafe_routes())


@pytest.mark.parametrize("path", _unsafe_routes())
async def test_every_form_refuses_a_missing_or_wrong_csrf_token(
    console: httpx.AsyncClient, path: str
) -> None:
    await console.get("/")  # a session
    missing = await console.post(path, data={"reason": "x", "locale": "en"})
    assert missing.status_code == 403, path
    assert "表单已失效" in missing.text and "缺少安全校验码" in missing.text
    wrong = await console.post(path, data={"csrf_token": "not-the-token", "locale": "en"})
    assert wrong.status_code == 403, path
    assert "与当前登录不符" in wrong.text
    header = await console.post(path, headers={"X-CSRF-Token": "nope"})
    assert header.status_code == 403, path


async def test_the_right_token_is_accepted(console: httpx.AsyncClient) -> None:
    page = await console.get("/")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    switched = await console.post(
        "/locale", data={"csrf_token": token.group(1), "locale": "en", "back": "/"}
    )
    assert switched.status_code == 303
    english = await console.get("/")
    assert "Cobuild workbench" in english.text and 'lang="en"' in english.text


async def test_the_vendor_files_come_from_node_modules(console: httpx.AsyncClient) -> None:
    htmx = await console.get("/static/vendor/htmx.min.js")
    assert htmx.status_code == 200, (
        "run `make` so that npm ci installs services/console/node_modules"
    )
    assert "htmx" in htmx.text[:2000]
    assert (await console.get("/static/vendor/../../pyproject.toml")).status_code == 404
    assert (await console.get("/static/vendor/axe.min.js")).status_code == 404  # tests only


# -- sign-in at an OIDC issuer (authorization code with PKCE) and the exchange ---------------


@pytest_asyncio.fixture(loop_scope="session")
async def signed_in_world(tmp_path: Path) -> AsyncIterator[tuple[FakeIssuer, FakeAccess, str]]:
    keys = ensure_dev_keys(tmp_path / "keys")
    issuer = FakeIssuer()
    access = FakeAccess.with_dev_keys(issuer, tmp_path / "keys", keys.kid)
    async with served(issuer.app()) as issuer_url:
        issuer.url = issuer_url
        async with served(access.app()) as access_url:
            yield issuer, access, access_url


async def _sign_in(
    issuer: FakeIssuer, access_url: str, username: str
) -> tuple[httpx.AsyncClient, httpx.Response]:
    settings = ConsoleSettings(
        oidc_issuer=issuer.url,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        access_url=access_url,
        public_url="http://127.0.0.1:8100",
    )
    app = create_app(settings)
    console = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8100"
    )
    await console.get("/")
    anonymous_cookie = console.cookies[COOKIE]
    start = await console.get("/signin", params={"next": "/needs"})
    assert start.status_code == 303
    authorize = start.headers["location"]
    assert authorize.startswith(f"{issuer.url}/authorize?")
    assert "code_challenge_method=S256" in authorize and "nonce=" in authorize
    async with httpx.AsyncClient() as browser:
        form = await browser.get(authorize)
        fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form.text))
        back = await browser.post(
            f"{issuer.url}/authorize", data={**fields, "username": username, "password": PASSWORD}
        )
    assert back.status_code == 302
    callback = back.headers["location"].removeprefix("http://127.0.0.1:8100")
    answer = await console.get(callback)
    assert console.cookies[COOKIE] != anonymous_cookie  # the session id changed at sign-in
    return console, answer


async def test_sign_in_with_pkce_and_one_grant_acts_at_once(
    signed_in_world: tuple[FakeIssuer, FakeAccess, str],
) -> None:
    issuer, access, access_url = signed_in_world
    li = issuer.add("li.worker", "李社工")
    row = access.grant(li, "community_admin", "6f1c1a9e-0000-4000-8000-000000000001", "幸福社区")
    console, answer = await _sign_in(issuer, access_url, "li.worker")
    async with contextlib.aclosing(console):
        assert answer.status_code == 303 and answer.headers["location"] == "/needs"
        assert issuer.redeemed[-1]["sub"] == li.sub and len(issuer.redeemed[-1]["verifier"]) >= 43
        assert access.exchanges[-2:] == [
            {"sub": li.sub, "grant_id": None},
            {"sub": li.sub, "grant_id": row.grant_id},
        ]
        roles = await console.get("/roles")
        assert "李社工 · 当前身份：幸福社区 社区工作者" in roles.text
        assert "access_token" not in roles.text and "eyJ" not in roles.text  # no token in a page


async def test_several_grants_ask_for_a_role_then_the_header_shows_it(
    signed_in_world: tuple[FakeIssuer, FakeAccess, str],
) -> None:
    issuer, access, access_url = signed_in_world
    wang = issuer.add("wang.two", "王两岗")
    access.grant(wang, "community_admin", "6f1c1a9e-0000-4000-8000-000000000002", "和平社区")
    unit = access.grant(wang, "unit_admin", "6f1c1a9e-0000-4000-8000-000000000003", "区人民医院")
    console, answer = await _sign_in(issuer, access_url, "wang.two")
    async with contextlib.aclosing(console):
        assert answer.headers["location"] == "/roles"
        page = await console.get("/roles")
        assert "王两岗 · 尚未选择身份" in page.text
        assert "和平社区" in page.text and "区人民医院" in page.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        chosen = await console.post(
            "/roles", data={"csrf_token": csrf.group(1), "grant_id": unit.grant_id}
        )
        assert chosen.status_code == 303
        page = await console.get("/roles")
        assert "王两岗 · 当前身份：区人民医院 共建单位管理员" in page.text
        assert "已切换为区人民医院共建单位管理员" in page.text
        # Someone else's grant is refused by the exchange: back to sign-in, not acting.
        stranger = await console.post(
            "/roles",
            data={"csrf_token": csrf.group(1), "grant_id": "00000000-0000-4000-8000-000000000009"},
        )
        assert stranger.status_code == 303 and stranger.headers["location"] == "/signin"


async def test_sign_out_ends_the_session_here_and_at_the_provider(
    signed_in_world: tuple[FakeIssuer, FakeAccess, str],
) -> None:
    issuer, access, access_url = signed_in_world
    zhao = issuer.add("zhao.out", "赵退出")
    access.grant(zhao, "community_admin", "6f1c1a9e-0000-4000-8000-000000000004", "光明社区")
    console, _ = await _sign_in(issuer, access_url, "zhao.out")
    async with contextlib.aclosing(console):
        page = await console.get("/roles")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        out = await console.post("/signout", data={"csrf_token": csrf.group(1)})
        assert out.status_code == 303
        assert out.headers["location"].startswith(f"{issuer.url}/end-session?")
        assert "id_token_hint=" in out.headers["location"]
        assert "Max-Age=0" in out.headers["set-cookie"]
        after = await console.get("/roles")
        assert after.status_code == 303 and after.headers["location"].startswith("/signin")


async def test_a_forged_state_is_refused(
    signed_in_world: tuple[FakeIssuer, FakeAccess, str],
) -> None:
    issuer, _, access_url = signed_in_world
    app = create_app(
        ConsoleSettings(
            oidc_issuer=issuer.url, oidc_client_secret=CLIENT_SECRET, access_url=access_url
        )
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8100"
    ) as c:
        await c.get("/signin")
        answer = await c.get("/signin/callback", params={"code": "x", "state": "forged"})
        assert answer.status_code == 401 and "登录未成功" in answer.text


def test_the_idle_expiry_is_a_setting() -> None:
    assert ConsoleSettings().session_idle_minutes == 30
    assert ConsoleSettings(session_idle_minutes=5).session_idle_minutes * 60 < time.time()


async def test_a_service_without_an_address_is_unavailable_not_an_error() -> None:
    """The notifications service is optional: a deployment without it gets no unread badge,
    not a 500 on every page's header (ServiceUnavailable, which the header's fragment and the
    error pages already handle)."""
    from cobuild_console.gateways.services import Services, ServiceUnavailable

    async with httpx.AsyncClient() as http:
        services = Services({"agreements": "http://127.0.0.1:9"}, http)
        with pytest.raises(ServiceUnavailable, match="no address configured"):
            await services.get("notifications", "/inbox/unread-count", "token")


async def test_a_dropped_connection_is_asked_once_more_then_reported_unavailable() -> None:
    from cobuild_console.gateways.services import Services, ServiceUnavailable

    calls: list[str] = []

    def drop_first(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers.get("idempotency-key", ""))
        if len(calls) == 1:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.Response(200, json={"ok": True})

    async with httpx.AsyncClient(transport=httpx.MockTransport(drop_first)) as http:
        services = Services({"points": "http://points"}, http)
        assert await services.post("points", "/wishes", "token", {}, idempotency_key="k") == {
            "ok": True
        }
    assert calls == ["k", "k"]  # the same key: the repeat takes effect once

    def always_drop(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")

    async with httpx.AsyncClient(transport=httpx.MockTransport(always_drop)) as http:
        services = Services({"points": "http://points"}, http)
        with pytest.raises(ServiceUnavailable, match="RemoteProtocolError"):
            await services.get("points", "/wishes", "token")
