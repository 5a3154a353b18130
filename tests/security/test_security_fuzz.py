"""Schemathesis against each service's OpenAPI document, in-process over ASGI.

Cases are generated from the document (`schemathesis.openapi.from_dict(app.openapi())`) and
sent with valid tokens of every role of the seeded world, through the same ASGI client as the
other tests (the services' pools live on the session's event loop, so the Hypothesis loop runs
in a worker thread and hands each request to that loop). Checks: no 5xx ever, a documented
response conforms to its schema, and a refused (4xx) request writes no outbox row.
"""

from __future__ import annotations

import asyncio
import json
import time
import warnings
from typing import Any

import httpx
import pytest
import schemathesis
from cobuild_contracts import Role
from cobuild_kit.rate_limits import RateLimits
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from security_support import SERVICES, Suite, World

MAX_EXAMPLES = 5  # per operation: `make test` stays short (DESIGN §7)
ROLES = [r for r in Role if r is not Role.OPERATOR]  # operations: tests/kit
SKIP = {"/metrics"}  # prometheus text: nothing to fuzz
RESULTS: dict[str, dict[str, int]] = {}


def _httpx_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """requests-style transport kwargs → httpx.AsyncClient.request kwargs."""
    out: dict[str, Any] = {"method": kwargs["method"], "url": kwargs["url"]}
    headers = dict(kwargs.get("headers") or {})
    for key in ("params", "json", "cookies"):
        if kwargs.get(key):
            out[key] = kwargs[key]
    if kwargs.get("files"):
        out["files"] = [(name, _part(*value)) for name, value in kwargs["files"]]
    data = kwargs.get("data")
    if isinstance(data, bytes | str):
        out["content"] = data
    elif data:
        out["data"] = data
    if "files" in out:
        headers.pop("Content-Type", None)  # httpx writes the multipart boundary
    out["headers"] = headers
    return out


def _part(filename: str | None, content: Any, *rest: Any) -> tuple[Any, ...]:
    """A multipart part httpx can send: generated non-string values go as their JSON text."""
    if not isinstance(content, bytes | str):
        content = json.dumps(content)
    return (filename, content, *rest)


async def _outbox(suite: Suite, service: str) -> int:
    async with suite.rts[service].pool.acquire() as conn:
        return int(await conn.fetchval("SELECT count(*) FROM outbox"))


def _fuzz(
    suite: Suite, world: World, service: str, loop: asyncio.AbstractEventLoop
) -> dict[str, Any]:
    app = suite.apps[service]
    schema = schemathesis.openapi.from_dict(app.openapi())
    tokens = [suite.h(r, world.party(r, own)) for r in ROLES for own in (True, False)]
    failures: list[str] = []
    counts = {"requests": 0, "5xx": 0, "4xx": 0, "partial_writes": 0, "schema_mismatch": 0}

    def run(coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=30)

    async def send(kw: dict[str, Any]) -> tuple[httpx.Response, int, int]:
        before = await _outbox(suite, service)
        response = await suite.clients[service].request(**kw)
        await response.request.aread()  # multipart bodies stream: schemathesis reads them back
        return response, before, await _outbox(suite, service)

    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in SKIP:
            continue

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
        @given(case=operation.as_strategy(), auth=st.sampled_from(tokens))
        def check(case: Any, auth: dict[str, str]) -> None:
            kw = _httpx_kwargs(case.as_transport_kwargs(base_url="http://testserver", headers=auth))
            response, before, after = run(send(kw))
            counts["requests"] += 1
            where = f"{case.method} {case.formatted_path}"
            if response.status_code >= 500:
                counts["5xx"] += 1
                failures.append(f"{where}: {response.status_code} {response.text[:200]}")
            elif response.status_code >= 400:
                counts["4xx"] += 1
                if after != before:
                    counts["partial_writes"] += 1
                    failures.append(f"{where}: {response.status_code} but the outbox grew")
            try:
                case.validate_response(
                    response, checks=[not_a_server_error, response_schema_conformance]
                )
            except Exception as exc:  # a check failure: record it, keep fuzzing
                if response.status_code < 500:
                    counts["schema_mismatch"] += 1
                    failures.append(f"{where}: {response.status_code} {str(exc)[:300]}")

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check()
    return {"failures": failures, **counts}


@pytest.mark.parametrize("service", SERVICES)
async def test_fuzzing_finds_no_5xx_no_schema_break_and_no_partial_write(
    suite: Suite, world: World, service: str
) -> None:
    started = time.monotonic()
    for rt in suite.rts.values():
        rt.rate_limits = RateLimits()
    report = await asyncio.to_thread(_fuzz, suite, world, service, asyncio.get_running_loop())
    RESULTS[service] = {k: v for k, v in report.items() if k != "failures"}
    print(f"fuzz {service}: {RESULTS[service]} in {time.monotonic() - started:.1f}s")
    assert report["requests"] > 0
    assert not report["failures"], "\n".join(report["failures"][:40])
