"""The web edge every page shares: the session cookie, the locale, the security headers,
CSRF, who is signed in, page rendering, and how refusals are shown.

Refusals are shown one way everywhere (the "display convention"): a form's refusal (422 with
a field) is shown beside its field by the form's own page; anything else is the error page
with the status (403, 404, 409, 422, 503) and a sentence of the catalogue saying what it
means and what to do."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import httpx
import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cobuild_console import i18n
from cobuild_console.domain.refusals import N_, explain
from cobuild_console.gateways.access import ExchangeRefused
from cobuild_console.gateways.provider import SignInFailed
from cobuild_console.gateways.services import ServiceRefusal, ServiceUnavailable, browser_address
from cobuild_console.http.labels import role_label
from cobuild_console.runtime import ConsoleRuntime
from cobuild_console.sessions import COOKIE, Session
from cobuild_console.usecases.signin import cobuild_token

log = structlog.get_logger("cobuild.console")
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Paths served without a session: the assets and the probes.
_SESSIONLESS = ("/static/", "/healthz", "/readyz", "/favicon.ico")


def runtime_of(request: Request) -> ConsoleRuntime:
    rt: ConsoleRuntime = request.app.state.runtime
    return rt


def session_of(request: Request) -> Session:
    session: Session | None = getattr(request.state, "session", None)
    if session is None:  # a sessionless path asked for one: a wiring mistake
        raise RuntimeError(f"no session on {request.url.path}")
    return session


# -- the session cookie, the locale and the headers: one pure ASGI middleware ----------------


class SessionAndHeaders:
    def __init__(self, app: ASGIApp, runtime: ConsoleRuntime) -> None:
        self.app = app
        self.rt = runtime
        s = runtime.settings
        provider = _origin(s.oidc_issuer)
        self.csp = "; ".join(
            [
                "default-src 'self'",
                "script-src 'self'",
                "style-src 'self'",
                "img-src 'self' data: blob:",
                "connect-src 'self'",
                "font-src 'self'",
                "object-src 'none'",
                "base-uri 'self'",
                "frame-ancestors 'none'",
                # Sign-out posts here and is redirected to the provider's end-session page.
                f"form-action 'self'{' ' + provider if provider else ''}",
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        session: Session | None = None
        if not path.startswith(_SESSIONLESS):
            cookie = _cookie(scope, COOKIE)
            session = self.rt.sessions.load(cookie) or self.rt.sessions.create(
                self.rt.settings.default_locale
            )
            scope.setdefault("state", {})["session"] = session
        token = i18n.current_locale.set(
            session.locale if session else self.rt.settings.default_locale
        )
        client = scope.get("client")
        address = browser_address.set(client[0] if client else None)
        html_page = not path.startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", self.csp.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"permissions-policy", b"camera=(self), microphone=(), geolocation=()"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                if html_page:  # pages carry personal data: never kept by a shared cache
                    headers.append((b"cache-control", b"no-store"))
                if session is not None and (session.new or _ended(session, self.rt)):
                    headers.append((b"set-cookie", self._cookie_header(session).encode()))
                    session.new = False
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            browser_address.reset(address)
            i18n.current_locale.reset(token)

    def _cookie_header(self, session: Session) -> str:
        secure = "; Secure" if self.rt.settings.secure_cookies else ""
        if _ended(session, self.rt):
            return f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}"
        value = self.rt.sessions.cookie_value(session)
        return f"{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax{secure}"


def _ended(session: Session, rt: ConsoleRuntime) -> bool:
    return session.ended


def _cookie(scope: Scope, name: str) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for key, value in headers:
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                k, _, v = part.strip().partition("=")
                if k == name:
                    return v
    return None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


# -- CSRF: every unsafe request carries the session's token ----------------------------------


class CsrfRefused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def check_csrf(request: Request) -> None:
    """A form's hidden `csrf_token` (or htmx's `X-CSRF-Token` header) must be this session's
    token. Bound to the session, so a page of another site cannot forge one; SameSite=Lax
    already keeps the cookie off its POSTs, and this holds even where a browser does not."""
    if request.method not in UNSAFE:
        return
    session = session_of(request)
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            sent_value = (await request.form()).get("csrf_token")
            sent = sent_value if isinstance(sent_value, str) else None
    if not sent:
        raise CsrfRefused(N_("The form carried no security token."))
    if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise CsrfRefused(N_("The form's security token is not this session's."))


# -- who is signed in ---------------------------------------------------------------------


class NeedsSignIn(Exception):
    """The page needs a signed-in person acting under a grant."""


class NeedsRole(Exception):
    """Signed in, but no grant chosen yet: the role switch comes first."""


@dataclass
class Acting:
    session: Session
    rt: ConsoleRuntime

    @property
    def role(self) -> str:
        assert self.session.acting is not None
        return self.session.acting.role

    @property
    def party_id(self) -> str:
        assert self.session.acting is not None
        return self.session.acting.party_id

    async def token(self) -> str:
        return await cobuild_token(self.rt, self.session)


async def acting(request: Request) -> Acting:
    session = session_of(request)
    if not session.signed_in:
        raise NeedsSignIn()
    if session.acting is None:
        raise NeedsRole()
    return Acting(session, runtime_of(request))


ActingDep = Annotated[Acting, Depends(acting)]


def safe_next(url: str | None) -> str:
    """Only a path of this site: never an absolute or scheme-relative URL (an open redirect)."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    return url


# -- rendering ----------------------------------------------------------------------------


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.raw_gettext, i18n.raw_ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(i18n.template_globals())
    env.globals["locale_names"] = i18n.LOCALE_NAMES
    return env


def render(
    request: Request,
    template: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    env: Environment = request.app.state.templates
    session: Session | None = getattr(request.state, "session", None)
    locale = i18n.current_locale.get()
    page = env.get_template(template).render(
        request=request,
        session=session,
        csrf_token=session.csrf if session else "",
        submission_id=secrets.token_hex(16),
        locale=locale,
        html_lang=i18n.HTML_LANG.get(locale, "zh-CN"),
        flash=session.take_flash() if session else [],
        path=request.url.path,
        htmx=request.headers.get("hx-request") == "true",
        **context,
    )
    return HTMLResponse(page, status_code=status, headers=headers)


def error_page(
    request: Request, status: int, title: str, detail: str, *, args: tuple[str, ...] = ()
) -> HTMLResponse:
    """The one error page: a status, its title and a sentence of the catalogue."""
    detail_text = (
        i18n.gettext(detail) % {str(i): a for i, a in enumerate(args)}
        if args
        else i18n.gettext(detail)
    )
    return render(
        request,
        "error.html",
        status=status,
        status_code=status,
        title=i18n.gettext(title),
        detail=detail_text,
    )


_TITLES = {
    400: N_("The request cannot be read"),
    401: N_("Please sign in again"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Not found"),
    409: N_("It has changed in the meantime"),
    410: N_("No longer valid"),
    413: N_("Too large"),
    422: N_("Please check what was entered"),
    429: N_("Too many attempts"),
    503: N_("Temporarily unavailable"),
}


def _redirect(request: Request, url: str) -> Response:
    if request.headers.get("hx-request") == "true":  # htmx follows this header, not a 303
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def install_error_pages(app: FastAPI) -> None:
    Handler = Callable[[Request, Any], Awaitable[Response]]

    async def needs_sign_in(request: Request, _: NeedsSignIn) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = "/"
        return _redirect(request, f"/signin?next={quote(safe_next(target))}")

    async def needs_role(request: Request, _: NeedsRole) -> Response:
        return _redirect(request, "/roles")

    async def csrf_refused(request: Request, exc: CsrfRefused) -> Response:
        log.warning("csrf refused", path=request.url.path, reason=exc.reason)
        return error_page(
            request,
            403,
            N_("This form has expired"),
            N_(
                "For your safety the form was not accepted: %(0)s Go back, reload the page and submit it again."
            ),
            args=(i18n.gettext(exc.reason),),
        )

    async def refused(request: Request, exc: ServiceRefusal) -> Response:
        if exc.status == 401:  # the Cobuild token is no longer good: sign in again
            session = session_of(request)
            session.token = None
            if "revoked grant" in str(exc.body.get("message", "")) and session.acting:
                # Her role was withdrawn: say so, and offer the roles she still holds.
                withdrawn, session.acting = session.acting, None
                session.say(
                    "error",
                    i18n.gettext("Your role %(role)s for %(party)s has been withdrawn.")
                    % {"role": role_label(withdrawn.role), "party": withdrawn.party_name},
                )
                return _redirect(request, "/roles")
            return _redirect(request, "/signin?next=" + quote(safe_next(request.url.path)))
        message_id, args = explain(str(exc.body.get("message", "")), exc.code)
        status = exc.status if exc.status in _TITLES else 422
        return error_page(request, status, _TITLES[status], message_id, args=args)

    async def unavailable(request: Request, exc: ServiceUnavailable) -> Response:
        log.warning("service unavailable", service=exc.service, error=str(exc))
        return error_page(
            request, 503, _TITLES[503], N_("A service did not answer. Try again in a moment.")
        )

    async def exchange_refused(request: Request, exc: ExchangeRefused) -> Response:
        log.warning("exchange refused", status=exc.status, error=str(exc))
        session = session_of(request)
        session.token = None
        if exc.status in (401, 403):  # the grant was revoked, or the sign-in expired
            session.acting = None
            session.subject = None
            return _redirect(request, "/signin")
        return error_page(
            request,
            503,
            _TITLES[503],
            N_("The sign-in service did not answer. Try again in a moment."),
        )

    async def sign_in_failed(request: Request, exc: SignInFailed) -> Response:
        log.warning("sign-in failed", error=str(exc))
        return error_page(
            request,
            401,
            N_("Sign-in did not succeed"),
            N_("The sign-in could not be completed. Please start again."),
        )

    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        status = exc.status_code if exc.status_code in _TITLES else 404
        detail = {
            404: N_("There is no such page, or it is not yours to see."),
            405: N_("There is no such page, or it is not yours to see."),
        }.get(status, N_("This entry was not accepted; check it and try again."))
        return error_page(request, status, _TITLES[status], detail)

    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return error_page(
            request, 422, _TITLES[422], N_("A value in the address or the form is not valid.")
        )

    handlers: dict[type[Exception], Handler] = {
        NeedsSignIn: needs_sign_in,
        NeedsRole: needs_role,
        CsrfRefused: csrf_refused,
        ServiceRefusal: refused,
        ServiceUnavailable: unavailable,
        ExchangeRefused: exchange_refused,
        SignInFailed: sign_in_failed,
        StarletteHTTPException: http_error,
        RequestValidationError: invalid,
    }
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# Images a page shows inline; any other evidence file is downloaded.
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def evidence_response(answer: httpx.Response) -> Response:
    """A service's evidence file passed on as it served it: an image shown inline, anything
    else downloaded under its name; never sniffed into another type."""
    content_type = answer.headers.get("content-type", "application/octet-stream").split(";")[0]
    headers = {"x-content-type-options": "nosniff"}
    disposition = answer.headers.get("content-disposition")
    if content_type not in IMAGE_TYPES and disposition:
        headers["content-disposition"] = disposition
    return Response(answer.content, media_type=content_type, headers=headers)
