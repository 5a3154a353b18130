"""The evaluation service: its HTTP routers, consumers and workers, wired by the runtime kit."""

from __future__ import annotations

from cobuild_kit.service import ServiceDefinition, asyncapi, create_app
from fastapi import FastAPI
from faststream import FastStream

from cobuild_evaluation import consumers
from cobuild_evaluation.http import assessments, evaluations, exports, ledger, public
from cobuild_evaluation.settings import EvaluationSettings

DESCRIPTION = """Evaluate (评约): the fulfilment ledger (履约率) at any scope and date, resident,
expert and community evaluations, the year-end assessment with rankings, CSV/XLSX exports and
the public board. Holds member ids only; names stay in the points service."""


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="evaluation",
        settings=EvaluationSettings(),
        migrations_package="cobuild_evaluation",
        routers=[
            ledger.router,
            evaluations.router,
            assessments.router,
            exports.router,
            public.router,
        ],
        consumers=consumers.ALL,
        workers=[],
        description=DESCRIPTION,
    )


def app() -> FastAPI:
    return create_app(definition())


def asyncapi_app() -> FastStream:
    return asyncapi(definition())
