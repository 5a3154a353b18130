"""People and tokens at the embedded provider, in code, for tests, seeding and the driver:
accounts provisioned through SCIM, a person's tokens through the provider's own sign-in pages
(no browser), an integration's through client credentials.

`provision` makes accounts (idempotent) through the provider's SCIM API with the access
service's client, as seeding and invitations do.

`sign_in` walks Canaille's pages as a browser would, with the console's client: the
authorization request with PKCE (S256), the login form, each configured step (password, a
one-time code by mail or SMS, read by `code_reader`, for instance from the mail catcher's
log), the consent page if one is shown, and the redirect back with the code, which it
exchanges at the token endpoint. Canaille-specific (it reads its forms); a browser test
checks the same pages in Chromium (tests/provider).

`client_credentials` gets an integration's (opaque) token; `introspect` asks the provider
about a token with the access service's client, as the exchange does.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
from cobuild_kit.scim import NewUser, ScimClient, ScimUser

from .discovery import ProviderClientInfo, ProviderInfo
from .errors import StackError

CodeReader = Callable[[str], Awaitable[str]]  # the step ("email" or "sms") -> the code


@dataclass(frozen=True)
class ProviderTokens:
    access_token: str
    token_type: str
    expires_in: int
    id_token: str = ""
    refresh_token: str = ""
    scope: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProviderTokens:
        return cls(
            access_token=str(data["access_token"]),
            token_type=str(data.get("token_type", "Bearer")),
            expires_in=int(data.get("expires_in", 0)),
            id_token=str(data.get("id_token", "")),
            refresh_token=str(data.get("refresh_token", "")),
            scope=str(data.get("scope", "")),
        )


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# -- the pages' forms ------------------------------------------------------------------


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: dict[str, str] = field(default_factory=dict)  # name -> value of submit buttons


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._open: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._open = Form(action=a.get("action", ""))
            self.forms.append(self._open)
        elif self._open is not None and tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind == "checkbox" and "checked" not in a:
                return
            if kind == "submit":
                self._open.buttons[a["name"]] = a.get("value", "")
            else:
                self._open.fields[a["name"]] = a.get("value", "")
        elif self._open is not None and tag == "button" and a.get("name"):
            self._open.buttons.setdefault(a["name"], a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def page_forms(html: str) -> list[Form]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


# -- a person's sign-in ----------------------------------------------------------------


async def sign_in(
    provider: ProviderInfo,
    login: str,
    password: str | None = None,
    *,
    client: ProviderClientInfo | None = None,
    code_reader: CodeReader | None = None,
    scope: str = "openid profile email phone",
    ui_locales: str = "zh-CN",
    max_pages: int = 12,
) -> ProviderTokens:
    """A person's provider tokens (access, ID, refresh) through the sign-in pages.

    `client` defaults to the console's (`provider["clients"]["console"]`)."""
    app = client or provider["clients"]["console"]
    verifier, challenge = pkce_pair()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    params = {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": app["redirect_uri"],
        "scope": scope,
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "ui_locales": ui_locales,
    }
    last_step = ""
    async with httpx.AsyncClient(timeout=15.0, follow_redirects=False) as http:
        response = await http.get(provider["authorization_endpoint"], params=params)
        for _ in range(max_pages):
            if response.is_redirect:
                target = urljoin(str(response.url), response.headers["location"])
                if target.startswith(app["redirect_uri"]):
                    code = _code_from(target, state)
                    return await _redeem(http, provider, app, code, verifier)
                response = await http.get(target)
                continue
            if response.status_code != 200:
                raise StackError(f"sign-in: HTTP {response.status_code} at {response.url}")
            form = _step_form(response.text, str(response.url))
            step = _step_of(form)
            if step in ("password", "otp") and step == last_step:  # shown again: refused
                raise StackError(f"sign-in of {login!r} refused: {_flash(response.text)}")
            last_step = step
            data = dict(form.fields)
            if "login" in data:
                data["login"] = login
            elif "password" in data:
                if password is None:
                    raise StackError(f"sign-in of {login!r}: the provider asks for a password")
                data["password"] = password
            elif "otp" in data:
                step = "sms" if "/sms" in str(response.url) else "email"
                if code_reader is None:
                    raise StackError(f"sign-in of {login!r}: a code by {step} is asked for")
                data["otp"] = await code_reader(step)
            if "answer" in form.buttons:  # the consent page's accept, the login's continue
                data["answer"] = form.buttons["answer"] or "accept"
            # The page it was posted from, as a browser says: over https the provider's CSRF
            # check refuses a post without a matching Referer (400).
            response = await http.post(
                urljoin(str(response.url), form.action),
                data=data,
                headers={"referer": str(response.url)},
            )
    raise StackError(f"sign-in of {login!r} did not come back to {app['redirect_uri']}")


def _step_form(html: str, url: str) -> Form:
    for form in page_forms(html):
        if {"login", "password", "otp"} & form.fields.keys() or "answer" in form.buttons:
            return form
    raise StackError(f"sign-in: no form to fill at {url}: {_flash(html)}")


def _step_of(form: Form) -> str:
    for name in ("login", "password", "otp"):
        if name in form.fields:
            return name
    return "consent"


class _Messages(HTMLParser):
    """The text of the page's error messages (Fomantic's `ui ... error message` blocks)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if self.depth:
            self.depth += 1
        elif tag == "div" and "message" in classes and {"error", "negative"} & set(classes):
            self.depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth and data.strip():
            self.parts.append(data.strip())


def _flash(html: str) -> str:
    parser = _Messages()
    parser.feed(html)
    return " ".join(parser.parts) or "(no message on the page)"


def _code_from(url: str, state: str) -> str:
    query = parse_qs(urlsplit(url).query)
    if "error" in query:
        raise StackError(f"sign-in refused: {query['error'][0]} {query.get('error_description')}")
    if query.get("state") != [state]:
        raise StackError("sign-in: the state came back changed")
    return query["code"][0]


async def _redeem(
    http: httpx.AsyncClient,
    provider: ProviderInfo,
    app: ProviderClientInfo,
    code: str,
    verifier: str,
) -> ProviderTokens:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": app["redirect_uri"],
        "client_id": app["client_id"],
        "code_verifier": verifier,
    }
    if app["client_secret"]:  # a confidential client: Basic auth, as it was registered
        auth = httpx.BasicAuth(app["client_id"], app["client_secret"])
        response = await http.post(provider["token_endpoint"], data=data, auth=auth)
    else:  # the console: public, PKCE alone
        response = await http.post(provider["token_endpoint"], data=data)
    if response.status_code != 200:
        raise StackError(f"code exchange: HTTP {response.status_code}: {response.text[:200]}")
    return ProviderTokens.from_json(response.json())


# -- integrations ----------------------------------------------------------------------


async def client_credentials(
    provider: ProviderInfo, client: ProviderClientInfo, scope: str | None = None
) -> ProviderTokens:
    """A confidential client's own token (Canaille's are opaque: introspect them)."""
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    async with httpx.AsyncClient(timeout=10.0) as http:
        response = await http.post(
            provider["token_endpoint"],
            data=data,
            auth=(client["client_id"], client["client_secret"]),
        )
    if response.status_code != 200:
        raise StackError(f"client credentials: HTTP {response.status_code}: {response.text[:200]}")
    return ProviderTokens.from_json(response.json())


async def introspect(provider: ProviderInfo, token: str) -> dict[str, Any]:
    """RFC 7662 introspection with the access service's client (the provider answers only
    about tokens whose audience names the asking client)."""
    access = provider["clients"]["access"]
    async with httpx.AsyncClient(timeout=10.0) as http:
        response = await http.post(
            provider["introspection_endpoint"],
            data={"token": token},
            auth=(access["client_id"], access["client_secret"]),
        )
    if response.status_code != 200:
        raise StackError(f"introspection: HTTP {response.status_code}: {response.text[:200]}")
    answer: dict[str, Any] = response.json()
    return answer


# -- accounts --------------------------------------------------------------------------


async def provision(provider: ProviderInfo, *users: NewUser) -> list[tuple[ScimUser, bool]]:
    """Each account made if missing, through SCIM: [(user, created)]."""
    token = await client_credentials(provider, provider["clients"]["access"])
    async with ScimClient(provider["scim_url"], token.access_token) as scim:
        return [await scim.ensure_user(user) for user in users]
