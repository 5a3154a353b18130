"""The points service: its HTTP routers, consumers and workers, wired by the runtime kit."""

from __future__ import annotations

from cobuild_kit.service import ServiceDefinition, asyncapi, create_app
from fastapi import FastAPI
from faststream import FastStream

from cobuild_points import consumers
from cobuild_points.http import activities, members, points, public, wishes
from cobuild_points.settings import PointsSettings

DESCRIPTION = """In-service party members (names and phones stay here), reporting (报到),
volunteer activities, micro-wishes (微心愿) and the hash-chained points ledger."""


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="points",
        settings=PointsSettings(),
        migrations_package="cobuild_points",
        routers=[members.router, activities.router, wishes.router, points.router, public.router],
        consumers=[consumers.commitments, consumers.evaluation, consumers.agreements],
        workers=[],
        description=DESCRIPTION,
        body_limits={"/members/import": 10_000_000},
    )


def app() -> FastAPI:
    return create_app(definition())


def asyncapi_app() -> FastStream:
    return asyncapi(definition())
