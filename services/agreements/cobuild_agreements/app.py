"""The agreements service: its HTTP routers, consumers and workers, wired by the runtime kit."""

from __future__ import annotations

from cobuild_kit.service import ServiceDefinition, asyncapi, create_app
from fastapi import FastAPI
from faststream import FastStream

from cobuild_agreements.http import agreements, needs, parties, public, resources
from cobuild_agreements.settings import AgreementsSettings

IMPORT_LIMIT = 10_000_000  # bytes: spreadsheets are bigger than JSON commands


def definition(**overrides: object) -> ServiceDefinition:
    """`overrides` go to ServiceDefinition (tests pass settings, verifier and clock)."""
    fields: dict[str, object] = {
        "name": "agreements",
        "settings": AgreementsSettings(),
        "migrations_package": "cobuild_agreements",
        "routers": [
            parties.router,
            needs.router,
            resources.router,
            agreements.router,
            public.router,
        ],
        "consumers": [],
        "workers": [],
        "description": "Talk and sign (谈约 · 签约): parties, needs, resources, matching, "
        "negotiation, agreements and direct claims.",
        "body_limits": {"/parties/import": IMPORT_LIMIT, "/communities/": IMPORT_LIMIT},
    }
    fields.update(overrides)
    return ServiceDefinition(**fields)  # type: ignore[arg-type]


def app() -> FastAPI:
    return create_app(definition())


def asyncapi_app() -> FastStream:
    return asyncapi(definition())
