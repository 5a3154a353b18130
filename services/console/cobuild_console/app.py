"""The workbench's app: routers, the session and headers middleware, CSRF on every unsafe
request, the error pages; `serve()` runs it with uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from cobuild_kit.logging import configure_logging
from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse

from cobuild_console.http import (
    activities,
    agreements,
    alliances,
    assessment,
    assets,
    board,
    commitments,
    follows,
    inbox,
    invitations,
    inviting,
    meetings,
    members,
    needs,
    needs_import,
    negotiation,
    notification_settings,
    objection,
    on_behalf,
    parties_directory,
    phone_expert,
    phone_inbox,
    phone_member,
    phone_public,
    rates,
    resources,
    resources_import,
    signin,
    supervise,
    tasks,
    todo,
    whistles,
    wishes,
)
from cobuild_console.http.labels import template_globals
from cobuild_console.http.web import SessionAndHeaders, check_csrf, environment, install_error_pages
from cobuild_console.runtime import ConsoleRuntime
from cobuild_console.settings import ConsoleSettings


def create_app(
    settings: ConsoleSettings | None = None, runtime: ConsoleRuntime | None = None
) -> FastAPI:
    rt = runtime or ConsoleRuntime(settings or ConsoleSettings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await rt.aclose()

    app = FastAPI(
        title="Cobuild workbench",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # Every unsafe request, on every router, carries the session's CSRF token.
        dependencies=[Depends(check_csrf)],
    )
    app.state.runtime = rt
    templates = environment()
    templates.globals.update(template_globals())
    app.state.templates = templates

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        return JSONResponse({"status": "ok", **rt.sessions.stats()})

    for router in (
        assets.router,
        signin.router,
        invitations.router,
        inviting.router,
        whistles.router,
        todo.router,
        needs_import.router,  # before needs: /needs/import is not a need's id
        needs.router,
        commitments.router,
        negotiation.router,  # before agreements: /agreements/new is not an agreement's id
        agreements.router,
        members.router,
        phone_member.router,  # the phone pages (/m/...): a member's, a resident's, an expert's
        phone_inbox.router,  # 消息 on a member's phone (issue 37)
        phone_public.router,
        phone_expert.router,
        board.router,  # the public board (上墙公示), no sign-in
        activities.router,
        wishes.router,
        on_behalf.router,
        tasks.router,
        rates.router,
        resources_import.router,  # before resources: /resources/import is not a resource's id
        resources.router,
        supervise.router,
        parties_directory.router,
        assessment.router,  # 年度考评 (issue 35)
        objection.router,  # a member's objection on the phone: /m/objection
        inbox.router,  # 通知 (issue 37)
        follows.router,  # 关注 a need, an agreement or a commitment (issue 37)
        notification_settings.router,
        alliances.router,  # 联席会议 (issue 39)
        meetings.router,
    ):
        app.include_router(router)
    install_error_pages(app)
    app.add_middleware(SessionAndHeaders, runtime=rt)
    return app


def serve() -> None:
    settings = ConsoleSettings()
    configure_logging("console", settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
        ssl_certfile=settings.tls_cert_file or None,
        ssl_keyfile=settings.tls_key_file or None,
    )
