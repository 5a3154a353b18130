"""The agreements service: its HTTP routers, consumers and workers, wired by the runtime kit."""

from __future__ import annotations

from cobuild_kit.service import ServiceDefinition, asyncapi, create_app
from fastapi import FastAPI
from faststream import FastStream

from cobuild_agreements.settings import AgreementsSettings


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="agreements",
        settings=AgreementsSettings(),
        migrations_package="cobuild_agreements",
        routers=[],
        consumers=[],
        workers=[],
        description="",
    )


def app() -> FastAPI:
    return create_app(definition())


def asyncapi_app() -> FastStream:
    return asyncapi(definition())
