"""The evaluation service: its HTTP routers, consumers and workers, wired by the runtime kit."""

from __future__ import annotations

from cobuild_kit.auth import TokenVerifier
from cobuild_kit.clock import Clock
from cobuild_kit.service import ServiceDefinition, asyncapi, create_app
from fastapi import FastAPI
from faststream import FastStream

from cobuild_evaluation import consumers
from cobuild_evaluation.http import (
    assessments,
    evaluations,
    exports,
    ledger,
    public,
    publication,
    supervision,
    whistle_rates,
)
from cobuild_evaluation.settings import EvaluationSettings

DESCRIPTION = """Evaluate (评约): the fulfilment ledger (履约率) at any scope and date, resident,
expert and community evaluations, the year-end assessment with rankings, CSV/XLSX exports and
the public board. Holds member ids only; names stay in the points service.

Formats: money in integer fen; rates are decimal strings with four places (`"0.9000"`, null
for a zero denominator), scores with two (`"87.50"`). Lists answer a page (`items`, `total`,
`limit`, `offset`, `next_offset`) and take `limit` and `offset`.

Who may: a party's admins and the street and district admins above it read its ledger; what
lies outside the actor's subtree answers 404, like what does not exist. Operations across
districts are the operator's (role `operator`): the whole ledger (`scope=all`, reads and
exports) and the ledger rebuild. A district admin reads its own district.

Work confirmed after its year's assessment was published: the fulfilment ledger books it on
its confirmation date, at once. The published scores do not change: the year's results stay
as published until the year is published again (a new policy version and a reason), which
scores the inputs as they stand then and supersedes the earlier publication. The assessment
reads a year's ledger as of 31 December, so work confirmed in a later year never changes that
year's scores; work confirmed within the year after a publication counts only once the year is
re-published."""


def definition(
    settings: EvaluationSettings | None = None,
    *,
    verifier: TokenVerifier | None = None,
    clock: Clock | None = None,
) -> ServiceDefinition[EvaluationSettings]:
    return ServiceDefinition(
        name="evaluation",
        settings=settings or EvaluationSettings(),
        migrations_package="cobuild_evaluation",
        routers=[
            ledger.router,
            evaluations.router,
            evaluations.public,
            assessments.router,
            publication.router,
            exports.router,
            public.router,
            whistle_rates.router,
            supervision.router,
        ],
        consumers=consumers.ALL,
        workers=[],
        description=DESCRIPTION,
        verifier=verifier,
        clock=clock,
    )


def app() -> FastAPI:
    return create_app(definition())


def asyncapi_app() -> FastStream:
    return asyncapi(definition())
