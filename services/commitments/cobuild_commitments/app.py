"""The commitments service: its HTTP routers, consumers and workers, wired by the runtime kit."""

from __future__ import annotations

from cobuild_kit.auth import TokenVerifier
from cobuild_kit.clock import Clock
from cobuild_kit.service import ServiceDefinition, asyncapi, create_app
from fastapi import FastAPI
from faststream import FastStream

from cobuild_commitments import consumers, workers
from cobuild_commitments.http import routers
from cobuild_commitments.settings import CommitmentsSettings

# Multipart overhead on top of the file itself; a file over the limit still gets a 422.
_MULTIPART_SLACK = 1024 * 1024


def definition(
    settings: CommitmentsSettings | None = None,
    *,
    verifier: TokenVerifier | None = None,
    clock: Clock | None = None,
) -> ServiceDefinition:
    s = settings or CommitmentsSettings()
    return ServiceDefinition(
        name="commitments",
        settings=s,
        migrations_package="cobuild_commitments",
        routers=list(routers),
        consumers=[consumers.spec],
        workers=[workers.watch_deadlines],
        description=(
            "Fulfil (履约): one commitment per signed item, claimed, reported with evidence, "
            "confirmed by the beneficiary, and flagged once when overdue."
        ),
        # Path prefix limits: the evidence upload lives under /commitments/.
        body_limits={"/commitments/": s.evidence_max_bytes + _MULTIPART_SLACK},
        verifier=verifier,
        clock=clock,
    )


def app() -> FastAPI:
    return create_app(definition())


def asyncapi_app() -> FastStream:
    return asyncapi(definition())
