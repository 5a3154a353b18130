"""Schemathesis against each service's OpenAPI document, over real HTTP.

The four services of the security suite are served by uvicorn on free ports of 127.0.0.1
(fuzz_support.served); schemathesis sends its cases there with its own HTTP client, each with a
token of one of the seeded world's roles and, most of the time, the world's ids in place of
invented ones (so requests reach past the 404s). Two passes per service:

- stateless: every operation, `BUDGET.examples` cases each, valid and invalid ones (positive and
  negative generation modes);
- stateful: schemathesis's state machine over the links it infers from the documents, plus the
  main chains it misses (fuzz_support.LINKS, added to a copy of the document in the test),
  `BUDGET.scenarios` scenarios of at most `BUDGET.steps` steps.

Checks on every request: no 5xx, the status is one the operation documents and the response
conforms to its documented schema, and a refused (4xx) request wrote no outbox row. `make test` runs the short budget, `make faults` the long one
(COBUILD_FUZZ=long). Hypothesis runs in a worker thread; the servers and the services' pools
live on the session's loop.
"""

from __future__ import annotations

import asyncio
import os
import time
import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import schemathesis
from cobuild_kit.rate_limits import RateLimits
from fuzz_support import BUDGET, SKIP, Judge, link_count, seeding, served, with_links
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.generation import GenerationMode
from security_support import SERVICES, Suite, World

RESULTS: dict[str, dict[str, Any]] = {}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def urls(suite: Suite) -> AsyncIterator[dict[str, str]]:
    for rt in suite.rts.values():
        rt.rate_limits = RateLimits()  # the fuzzer is one client sending many requests
    async with served(suite) as urls:
        yield urls


def _settings(max_examples: int, **kw: Any) -> settings:
    values: dict[str, Any] = {
        "max_examples": max_examples,
        "deadline": None,
        "database": None,
        "suppress_health_check": list(HealthCheck),
        "derandomize": True,
        **kw,
    }
    return settings(**values)


def _stateless(suite: Suite, world: World, judge: Judge) -> None:
    schema = schemathesis.openapi.from_dict(suite.apps[judge.service].openapi())
    schema.hooks.register_hook_with_name(seeding(suite, world, paths=True), "flatmap_case")
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        if operation.path in SKIP:
            continue

        @_settings(BUDGET.examples, phases=[Phase.generate])
        @given(
            case=st.one_of(
                operation.as_strategy(),
                operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
            )
        )
        def check(case: Any) -> None:
            judge.send(case)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check()


def _stateful(suite: Suite, world: World, judge: Judge) -> int:
    doc = with_links(suite.apps[judge.service].openapi(), judge.service)
    schema = schemathesis.openapi.from_dict(doc)
    schema.hooks.register_hook_with_name(seeding(suite, world, paths=False), "flatmap_case")
    base = schema.as_state_machine()

    scenarios = 0

    class Machine(base):  # type: ignore[valid-type,misc]
        def call(self, case: Any, **kwargs: Any) -> Any:
            return judge.send(case)

        def validate_response(self, response: Any, case: Any, *a: Any, **kw: Any) -> None:
            pass  # judged in `call`: every failure is collected, none stops the run

        def teardown(self) -> None:
            nonlocal scenarios
            scenarios += 1

    # The services keep state: a scenario Hypothesis replays may meet other answers (an empty
    # bundle, say) and Hypothesis stops with FlakyStrategyDefinition. A new batch goes on.
    for _ in range(max(10, BUDGET.scenarios // 5)):
        if scenarios >= BUDGET.scenarios:
            break
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                Machine.run(
                    settings=_settings(
                        BUDGET.scenarios - scenarios,
                        stateful_step_count=BUDGET.steps,
                        phases=[Phase.generate],
                        derandomize=False,
                    )
                )
            except FlakyStrategyDefinition:
                judge.counts["flaky_batches"] += 1
    judge.counts["scenarios"] = scenarios
    return int(link_count(base))


@pytest.mark.parametrize("service", SERVICES)
async def test_fuzzing_finds_no_5xx_no_schema_break_and_no_partial_write(
    suite: Suite, world: World, urls: dict[str, str], service: str
) -> None:
    loop = asyncio.get_running_loop()
    stateless = Judge(suite, service, urls[service], loop)
    stateful = Judge(suite, service, urls[service], loop)
    started = time.monotonic()
    await asyncio.to_thread(_stateless, suite, world, stateless)
    middle = time.monotonic()
    links = await asyncio.to_thread(_stateful, suite, world, stateful)
    RESULTS[service] = {
        "stateless": dict(stateless.counts),
        "stateful": dict(stateful.counts),
        "links": links,
        "stateful_operations": len(stateful.operations),
    }
    print(
        f"fuzz {service}: {RESULTS[service]} stateless {middle - started:.1f}s, "
        f"stateful {time.monotonic() - middle:.1f}s"
    )
    if os.environ.get("COBUILD_FUZZ_VERBOSE"):
        for judge in (stateless, stateful):
            for key, n in sorted(judge.statuses.items()):
                print(f"  {key}: {n}  {judge.samples[key][:240]}")
    assert stateless.counts["requests"] > 0 and stateful.counts["requests"] > 0
    failures = stateless.failures + [f"stateful: {f}" for f in stateful.failures]
    assert not failures, "\n".join(failures[:40])
