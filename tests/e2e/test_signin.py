"""Issue 33's "done when", on the stack `cobuild run` starts (the embedded provider, the mail
catcher, the access service and the services, on free ports):

a street secretary invites a community worker; she signs in on the provider's own page in
Chromium (authorization code with PKCE), accepts the invitation, exchanges her provider token
for a Cobuild token of her grant, and acts for her community and nothing else; the secretary
revokes the grant and her next request is refused, within 5 seconds of the revocation.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import pytest_asyncio
from cobuild_kit.scim import NewUser
from cobuild_scenario import files
from cobuild_scenario.actors import Api, Tokens
from cobuild_scenario.pace import Quiescence
from cobuild_stack import accounts
from cobuild_stack.launcher import SERVICES, Stack, StackConfig
from cobuild_stack.provider import ProviderSettings

from tests.provider.provider_support import CHROMIUM, chromium_or_skip

pytestmark = [pytest.mark.timeout(300), pytest.mark.browser]
PASSWORD = "Gongjian-2026!"
REVOKED_WITHIN_S = 5.0


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack() -> AsyncIterator[dict[str, Any]]:
    root = Path(tempfile.mkdtemp(prefix="cobuild-signin-"))
    os.chmod(root, 0o755)  # as root, PostgreSQL runs as nobody and must reach var/pg
    config = StackConfig.from_env(
        {},
        var_dir=root / "var",
        service_ports={name: 0 for name in SERVICES},
        partitions=1,
        test_mode=True,
        console_port=None,  # the browser goes to the provider; its callback is caught below
        provider=ProviderSettings(port=0),
    )
    running = Stack(config)
    info = await running.start()
    try:
        yield dict(info)
    finally:
        await running.stop()
        shutil.rmtree(root, ignore_errors=True)


def _party_rows(street: str, c1: str, c2: str) -> bytes:
    rows = [
        ["street", "东湖街道", street, "D1", "", ""],
        ["community", "幸福里社区", c1, street, "", ""],
        ["community", "和平社区", c2, street, "", ""],
    ]
    header = ("kind", "name", "code", "parent", "unit_type", "paired_communities")
    return files.csv_bytes(header, rows)


async def _browser_sign_in(provider: dict[str, Any], login: str) -> accounts.ProviderTokens:
    """Her sign-in on the provider's page in Chromium; the callback is caught (not served)."""
    from playwright.async_api import Route, async_playwright

    client = provider["clients"]["console"]
    verifier, challenge = accounts.pkce_pair()
    state = uuid.uuid4().hex
    query = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": client["redirect_uri"],
        "scope": "openid profile email phone",
        "state": state,
        "nonce": uuid.uuid4().hex,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "ui_locales": "zh-CN",
    }
    caught: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def callback(route: Route) -> None:
        if not caught.done():
            caught.set_result(route.request.url)
        await route.fulfill(status=200, content_type="text/plain", body="ok")

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = await browser.new_page(locale="zh-CN", viewport={"width": 390, "height": 844})
            await page.route(client["redirect_uri"] + "*", callback)
            await page.goto(f"{provider['authorization_endpoint']}?{urlencode(query)}")
            await page.fill("input[name=login]", login)
            await page.click("button[name=answer]")
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button[type=submit].primary")
            url = await asyncio.wait_for(caught, 30)
        finally:
            await browser.close()
    params = parse_qs(urlsplit(url).query)
    assert params["state"] == [state]
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            provider["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": params["code"][0],
                "redirect_uri": client["redirect_uri"],
                "client_id": client["client_id"],
                "code_verifier": verifier,
            },
        )
    assert answer.status_code == 200, answer.text
    return accounts.ProviderTokens.from_json(answer.json())


async def test_an_invited_worker_acts_for_her_community_until_revoked(
    stack: dict[str, Any],
) -> None:
    await asyncio.to_thread(chromium_or_skip)
    info, provider = stack, stack["provider"]
    api = Api({n: s["url"] for n, s in info["services"].items()}, Tokens(info["keys"]))
    try:
        await _play(api, info, provider)
    finally:
        await api.aclose()


async def _exchange(api: Api, subject_token: str, grant_id: str | None) -> str:
    answer = await api.request(
        "access", "POST", "/exchange", json={"subject_token": subject_token, "grant_id": grant_id}
    )
    return str(answer.json()["access_token"])


async def _play(api: Api, info: dict[str, Any], provider: dict[str, Any]) -> None:
    # The directory, set up as the main job does (a development token bootstraps it).
    district_id = str(uuid.uuid4())
    dev_district = api.actor("district_admin", district_id)
    await dev_district.post(
        "agreements",
        "/parties",
        {"party_id": district_id, "kind": "district", "name": "示范区", "code": "D1"},
    )
    answer = await api.request(
        "agreements",
        "POST",
        "/parties/import",
        token=dev_district.token,
        files={"file": ("parties.csv", _party_rows("S1", "C1", "C2"), "text/csv")},
    )
    ids = {p["code"]: str(p["party_id"]) for p in answer.json()["parties"]}
    operator = api.tokens.token("operator", district_id)
    await Quiescence(api, operator).wait()  # access learns the directory from party.* events

    # Three people at the provider, made through SCIM.
    people = {
        "district-admin": "示范区管理员",
        "zhou.street": "周建国",
        "li.juan": "李娟",
    }
    await accounts.provision(
        provider,
        *(
            NewUser(user_name=u, display_name=n, family_name=n[0], password=PASSWORD)
            for u, n in people.items()
        ),
    )
    # The district admin is bootstrapped (as `cobuild access grant` does); she grants the
    # street's secretary, who invites the worker.
    da_grant = await api.request(
        "access",
        "POST",
        "/bootstrap/grants",
        token=operator,
        json={"subject": "district-admin", "role": "district_admin", "party_id": district_id},
        ok=(201,),
    )
    da = await _exchange(
        api,
        (await accounts.sign_in(provider, "district-admin", PASSWORD)).access_token,
        da_grant.json()["grant_id"],
    )
    sa_grant = await api.request(
        "access",
        "POST",
        "/grants",
        token=da,
        json={"subject": "zhou.street", "role": "street_admin", "party_id": ids["S1"]},
        ok=(201,),
    )
    sa = await _exchange(
        api,
        (await accounts.sign_in(provider, "zhou.street", PASSWORD)).access_token,
        sa_grant.json()["grant_id"],
    )
    invited = await api.request(
        "access",
        "POST",
        "/invitations",
        token=sa,
        json={"role": "community_admin", "party_id": ids["C1"], "email": "li.juan@example.cn"},
        ok=(201,),
    )
    link_token = invited.json()["link"].rstrip("/").rsplit("/", 1)[-1]

    # She signs in on the provider's page, accepts, and exchanges for her grant.
    tokens = await _browser_sign_in(provider, "li.juan")
    person = await _exchange(api, tokens.access_token, None)
    accepted = await api.request(
        "access", "POST", f"/invitation-links/{link_token}/accept", token=person
    )
    grant_id = str(accepted.json()["grant_id"])
    worker = await _exchange(api, tokens.access_token, grant_id)
    used_again = await api.request(
        "access",
        "POST",
        f"/invitation-links/{link_token}/accept",
        token=person,
        ok=(409, 410),
    )
    assert used_again.status_code in (409, 410)

    need = {
        "category": "quality_service",
        "kind": "task",
        "title": "为独居老人上门理发",
        "quantity": 20,
        "quantity_unit": "人次",
        "wanted_by": (date.today() + timedelta(days=60)).isoformat(),
    }
    mine = await api.request(
        "agreements",
        "POST",
        "/needs",
        token=worker,
        json={**need, "community_id": ids["C1"]},
        ok=(201,),
    )
    assert mine.json()["community_id"] == ids["C1"]
    theirs = await api.request(
        "agreements",
        "POST",
        "/needs",
        token=worker,
        json={**need, "community_id": ids["C2"]},
        ok=(403,),
    )
    assert "C2" not in theirs.text and theirs.status_code == 403

    # The secretary revokes her grant: her next request is refused within 5 s.
    await api.request(
        "access", "DELETE", f"/grants/{grant_id}", token=sa, params={"reason": "调离本社区"}
    )
    revoked_at = time.monotonic()
    status = 200
    while time.monotonic() - revoked_at < REVOKED_WITHIN_S + 5:
        response = await api.request(
            "agreements",
            "GET",
            "/needs",
            token=worker,
            params={"community_id": ids["C1"]},
            ok=(200, 401, 403),
        )
        status = response.status_code
        if status != 200:
            break
        await asyncio.sleep(0.1)
    took = time.monotonic() - revoked_at
    print(f"revocation: refused {took:.2f} s after the revoke answered ({status})")
    assert status == 401 and "revoked" in response.text, response.text
    assert took <= REVOKED_WITHIN_S
