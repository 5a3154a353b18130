"""The agreements service: its HTTP routers, consumers and workers, wired by the runtime kit."""

from __future__ import annotations

from cobuild_kit.auth import TokenVerifier
from cobuild_kit.clock import Clock
from cobuild_kit.service import ServiceDefinition, asyncapi, create_app
from fastapi import FastAPI
from faststream import FastStream

from cobuild_agreements.http import (
    agreements,
    alliances,
    needs,
    parties,
    public,
    reference,
    resources,
)
from cobuild_agreements.settings import AgreementsSettings

# bytes: spreadsheets, and bulk commands of up to 1,000 needs or resources, are bigger than JSON commands
IMPORT_LIMIT = 10_000_000


def definition(
    settings: AgreementsSettings | None = None,
    *,
    verifier: TokenVerifier | None = None,
    clock: Clock | None = None,
) -> ServiceDefinition[AgreementsSettings]:
    return ServiceDefinition(
        name="agreements",
        settings=settings or AgreementsSettings(),
        migrations_package="cobuild_agreements",
        routers=[
            parties.router,
            needs.router,
            needs.bulk_router,
            resources.router,
            resources.bulk_router,
            agreements.router,
            alliances.router,
            public.router,
            reference.router,
        ],
        consumers=[],
        workers=[],
        description="Talk and sign (谈约 · 签约): parties, needs, resources, matching, "
        "negotiation, agreements and direct claims; alliances and their joint meetings, "
        "whose decisions become commitments.",
        body_limits={
            "/parties/import": IMPORT_LIMIT,
            "/communities/": IMPORT_LIMIT,
            "/units/": IMPORT_LIMIT,
        },
        verifier=verifier,
        clock=clock,
    )


def app() -> FastAPI:
    return create_app(definition())


def asyncapi_app() -> FastStream:
    return asyncapi(definition())
