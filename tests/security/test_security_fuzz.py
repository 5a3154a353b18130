"""Schemathesis against each service's OpenAPI document, over real HTTP.

The four services of the security suite are served by uvicorn on free ports of 127.0.0.1
(`served`); schemathesis sends its cases there with its own HTTP client, each with a
token of one of the seeded world's roles and, most of the time, the world's ids in place of
invented ones (so requests reach past the 404s). Two passes per service:

- stateless: every operation, `BUDGET.examples` cases each, valid and invalid ones (positive and
  negative generation modes);
- stateful: schemathesis's state machine over the links it infers from the documents, plus the
  main chains it misses (`LINKS`, added to a copy of the document in the test),
  `BUDGET.scenarios` scenarios of at most `BUDGET.steps` steps.

Checks on every request: no 5xx, the status is one the operation documents and the response
conforms to its documented schema, and a refused (4xx) request wrote no outbox row: each request
carries its own X-Request-ID, which the services put in the envelopes they emit as the
correlation id, so the outbox rows of that request alone are counted, whatever the consumers
write meanwhile. `make test` runs the short budget, `make faults` the long one
(COBUILD_FUZZ=long). Hypothesis runs in a worker thread; the servers and the services' pools
live on the session's loop.
"""

from __future__ import annotations

import asyncio
import copy
import os
import random
import time
import uuid
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
import schemathesis
import uvicorn
from cobuild_contracts import Role
from cobuild_contracts.enums import HongfanCategory
from cobuild_kit.bounded_head import bounded_head
from cobuild_kit.rate_limits import RateLimits
from cobuild_stack.ports import free_port
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)
from security_support import SERVICES, Suite, World

LONG = os.environ.get("COBUILD_FUZZ", "") == "long"  # `make faults`


@dataclass(frozen=True)
class Budget:
    examples: int  # stateless: per operation
    scenarios: int  # stateful: per service (Hypothesis max_examples of the state machine)
    steps: int  # stateful: the step cap of one scenario


BUDGET = Budget(examples=40, scenarios=150, steps=12) if LONG else Budget(10, 40, 8)
ROLES = [r for r in Role if r is not Role.OPERATOR]  # operations: tests/kit
SKIP = {"/metrics"}  # prometheus text: nothing to fuzz
# Refusals of the server in front of the app (cobuild_kit.bounded_head: a request head over
# max_header_bytes), which no operation's document can name. Counted, not checked.
TRANSPORT_REFUSALS = {431}

# -- real HTTP ---------------------------------------------------------------------------------


@asynccontextmanager
async def served(suite: Suite) -> AsyncIterator[dict[str, str]]:
    """Each service's app behind its own uvicorn server on a free port of 127.0.0.1, on this
    loop (the runtimes are already started: lifespan off), as `cobuild_kit.service.serve` runs
    it (the bounded head). Yields the base URLs."""
    urls: dict[str, str] = {}
    async with AsyncExitStack() as stack:
        for name, app in suite.apps.items():
            port = free_port()
            config = uvicorn.Config(
                app,
                host="127.0.0.1",
                port=port,
                lifespan="off",
                log_config=None,
                access_log=False,
                http=bounded_head(65_536),
                timeout_graceful_shutdown=5,
            )
            server = uvicorn.Server(config)
            task = asyncio.create_task(server.serve())
            while not server.started:  # uvicorn offers no event for it
                if task.done():
                    task.result()  # the bind failed: say why
                await asyncio.sleep(0.01)

            async def stop(
                server: uvicorn.Server = server, task: asyncio.Task[None] = task
            ) -> None:
                server.should_exit = True
                await task

            stack.push_async_callback(stop)
            urls[name] = f"http://127.0.0.1:{port}"
        yield urls


# -- OpenAPI links for the main chains ---------------------------------------------------------

# (source "METHOD /path status", target "METHOD /path", parameters, request body)
Link = tuple[str, str, dict[str, str], dict[str, Any] | None]
_NEED = {"need_id": "$response.body#/need_id"}
_RESOURCE = {"resource_id": "$response.body#/resource_id"}
_YEAR = {"year": "$request.path.year"}
LINKS: dict[str, list[Link]] = {
    "agreements": [
        ("POST /needs 201", "GET /needs/{need_id}", _NEED, None),
        ("POST /needs 201", "PUT /needs/{need_id}", _NEED, None),
        ("POST /needs 201", "GET /needs/{need_id}/matches", _NEED, None),
        ("POST /needs 201", "POST /needs/{need_id}/claims", _NEED, None),
        ("POST /needs 201", "POST /needs/{need_id}/withdraw", _NEED, None),
        ("POST /resources 201", "POST /resources/{resource_id}/withdraw", _RESOURCE, None),
        ("POST /resources 201", "GET /resources/{resource_id}/matches", _RESOURCE, None),
    ],
    "commitments": [],  # inferred: GET /commitments → claim, done, confirm, ...
    "points": [],  # inferred: POST /members → /members/{member_id}/...
    "evaluation": [
        ("POST /assessments/{year}/preview 200", "POST /assessments/{year}/publish", _YEAR, None),
        ("POST /assessments/{year}/publish 201", "GET /assessments/{year}", _YEAR, None),
        ("POST /assessments/{year}/publish 201", "GET /assessments/{year}/rankings", _YEAR, None),
        (
            "POST /commitments/{commitment_id}/resident-codes 201",
            "POST /public/resident-evaluations",
            {},
            {"code": "$response.body#/codes/0", "rating": 5},
        ),
        (
            "POST /expert-assignments 201",
            "POST /expert-evaluations",
            {},
            {
                "subject_kind": "$response.body#/subject_kind",
                "subject_id": "$response.body#/subject_id",
            },
        ),
    ],
}


def with_links(doc: dict[str, Any], service: str) -> dict[str, Any]:
    """A copy of the service's document with the links of LINKS added (the services' own
    documents stay as they are)."""
    doc = copy.deepcopy(doc)
    for source, to, params, body in LINKS[service]:
        method, path, status = source.split()
        t_method, t_path = to.split()
        t_method = t_method.lower()
        target = doc["paths"][t_path][t_method]["operationId"]
        response = doc["paths"][path][method.lower()]["responses"][status]
        link: dict[str, Any] = {"operationId": target}
        if params:
            link["parameters"] = params
        if body is not None:
            link["requestBody"] = body
        response.setdefault("links", {})[f"{t_method}_{target}"] = link
    return doc


def link_count(machine: Any) -> int:
    return sum(len(entry.outgoing) for entry in machine._transitions.operations.values())


# -- cases seeded with the world ---------------------------------------------------------------

# A field or parameter of this name gets one of the world's ids: the own side (D, S, C, U, M, E
# and the seeded records) or the other side (d, s, c, u, m, e).
_OWN = {
    "district_id": "D",
    "street_id": "S",
    "community_id": "C",
    "unit_id": "U",
    "obligor_party_id": "U",
    "beneficiary_party_id": "C",
    "parent_id": "S",
    "party_id": "C",
    "member_id": "M",
    "expert_id": "E",
    "commitment_id": "k1",
    "subject_id": "k1",
    "need_id": "need",
    "resource_id": "resource",
    "agreement_id": "agreement",
    "activity_id": "activity",
    "wish_id": "wish",
    "entry_id": "entry",
    "evidence_id": "evidence",
}
_OTHER = {
    "district_id": "d",
    "street_id": "s",
    "community_id": "c",
    "unit_id": "u",
    "obligor_party_id": "u",
    "beneficiary_party_id": "c",
    "parent_id": "D",
    "party_id": "U",
    "member_id": "m",
    "expert_id": "e",
    "commitment_id": "k2",
    "subject_id": "k2",
}


_CATEGORIES = [c.value for c in HongfanCategory]
# Fields whose format the documents leave open and the services check: a valid value now and then.
_VALUES: dict[str, Callable[[random.Random], str]] = {
    "phone": lambda rng: "139" + "".join(rng.choice("0123456789") for _ in range(8)),
    "hours": lambda rng: str(rng.choice([1, 2, "1.5", 4])),
    "category": lambda rng: rng.choice(_CATEGORIES),
    **{
        name: lambda rng: rng.choice(["2025-03-01", "2025-06-30", "2025-12-31", "2026-01-15"])
        for name in (
            "term_start",
            "term_end",
            "wanted_by",
            "available_from",
            "available_until",
            "deadline",
            "due",
            "date",
        )
    },
    "starts_at": lambda rng: "2025-03-02T01:00:00+00:00",
    "ends_at": lambda rng: rng.choice(["2025-03-02T03:00:00+00:00", "2025-03-01T03:00:00+00:00"]),
}
SEED = int(os.environ.get("COBUILD_FUZZ_SEED", "20250301"))


def _seed(value: Any, ids: dict[str, str], rng: random.Random, depth: int = 0) -> Any:
    if depth > 3:
        return value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in ids and isinstance(v, str):
                out[k] = ids[k]
            elif k in _VALUES and rng.random() < 0.8:
                out[k] = _VALUES[k](rng)
            else:
                out[k] = _seed(v, ids, rng, depth + 1)
        return out
    if isinstance(value, list):
        return [_seed(v, ids, rng, depth + 1) for v in value]
    return value


def seeding(
    suite: Suite, world: World, *, paths: bool
) -> Callable[[Any, Any], st.SearchStrategy[Any]]:
    """A `flatmap_case` hook: a token of one of the world's roles (own or other party), and in
    most cases the ids the generator invented replaced by the world's, from the token's side
    of the world or mixed, and fields of a checked format (phones, dates, categories) given a
    valid value now and then. Path parameters only when `paths` (the stateless pass: in the
    stateful one links fill them).

    The choices come from a seeded `random.Random` (COBUILD_FUZZ_SEED), not from Hypothesis:
    with a few examples per operation Hypothesis would pick its simplest choice (the first role)
    nearly every time."""
    own = {k: str(getattr(world, v)) for k, v in _OWN.items()}
    other = {**own, **{k: str(getattr(world, v)) for k, v in _OTHER.items()}}
    rng = random.Random(SEED)

    def hook(context: Any, case: Any) -> st.SearchStrategy[Any]:
        role = rng.choice(ROLES)
        is_own = rng.random() < 0.7
        side = rng.choice(["token", "token", "token", "mixed", "none"])
        ids = (own if is_own else other) if side == "token" else {}
        if side == "mixed":
            ids = {k: rng.choice([own[k], other[k]]) for k in own}
        headers = dict(case.headers or {})
        headers.update(suite.h(role, world.party(role, is_own), world.subject(role, is_own)))
        case.headers = headers
        if ids:
            if isinstance(case.body, dict | list):
                case.body = _seed(case.body, ids, rng)
            if case.query:
                case.query = _seed(case.query, ids, rng)
            if paths and case.path_parameters:
                case.path_parameters = _seed(case.path_parameters, ids, rng)
        return st.just(case)

    return hook


def _curl(case: Any, url: str) -> str:
    try:
        return str(case.as_curl_command(base_url=url))[:1000]
    except Exception as exc:  # a reproduction hint only
        return f"(no curl: {exc})"


# -- the judge ---------------------------------------------------------------------------------


@dataclass
class Judge:
    suite: Suite
    service: str
    url: str
    loop: asyncio.AbstractEventLoop
    failures: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    operations: set[str] = field(default_factory=set)
    statuses: Counter[str] = field(default_factory=Counter)  # "METHOD /path status"
    samples: dict[str, str] = field(default_factory=dict)  # the first answer of each

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    async def _written(self, request_id: str) -> int:
        async with self.suite.rts[self.service].pool.acquire() as conn:
            n = await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE envelope->>'correlation_id' = $1", request_id
            )
            return int(n)

    def send(self, case: Any) -> Any:
        """The case over real HTTP (schemathesis's requests transport) to the service's port."""
        request_id = str(uuid.uuid4())
        response = case.call(base_url=self.url, headers={"X-Request-ID": request_id}, timeout=30)
        self.judge(case, response, request_id)
        return response

    def judge(self, case: Any, response: Any, request_id: str) -> None:
        status = response.status_code
        where = f"{case.method} {case.formatted_path}"
        self.counts["requests"] += 1
        self.operations.add(f"{case.method} {case.path}")
        self.statuses[f"{case.method} {case.path} {status}"] += 1
        text = bytes(response.content[:300]).decode("utf-8", "replace")  # evidence is binary
        self.samples.setdefault(f"{case.method} {case.path} {status}", text)
        if status >= 500:
            self.counts["5xx"] += 1
            self.failures.append(f"{where}: {status} {text}\n  {_curl(case, self.url)}")
        elif status >= 400:
            self.counts["4xx"] += 1
            if self._run(self._written(request_id)):
                self.counts["partial_writes"] += 1
                self.failures.append(f"{where}: {status} but the outbox has rows of the request")
        else:
            self.counts["2xx"] += 1
            if case.method != "GET" and self._run(self._written(request_id)):
                self.counts["2xx_with_events"] += 1  # the correlation check sees writes
        if status in TRANSPORT_REFUSALS:  # uvicorn's, before the app: not in the document
            self.counts[f"{status}_transport"] += 1
            return
        try:
            case.validate_response(
                response,
                checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
            )
        except (Exception, BaseExceptionGroup) as exc:  # FailureGroup is a BaseExceptionGroup
            if status < 500:
                self.counts["schema_mismatch"] += 1
                self.failures.append(f"{where}: {status} {str(exc)[:400]}")


# -- the test ---------------------------------------------------------------------------------

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
