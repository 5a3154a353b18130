"""One bound for every number (hardening issue, High 3): every integer and decimal field of
every event, and of every service's commands and queries (bodies, query and path parameters),
has a lower and an upper bound within `NUMERIC_CEILING`, and every date and timestamp is
range-checked, so a value one service accepts is one every other service can store and sum.

The walk reads the pydantic field metadata (the same constraints validation applies), through
Optional, lists, dicts and nested models, and the FastAPI apps' routes (their dependants'
body, query and path parameters)."""

from __future__ import annotations

import importlib
import types
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Union, get_args, get_origin

import annotated_types as at
import pytest
from cobuild_contracts import EVENT_TYPES, Envelope, base
from cobuild_kit.service import create_app
from fastapi.routing import APIRoute
from pydantic import AfterValidator, AwareDatetime, BaseModel, NaiveDatetime
from pydantic.fields import FieldInfo

SERVICES = ("agreements", "commitments", "points", "evaluation", "access")
CEILING = base.NUMERIC_CEILING
TIME_CHECKS = {base._date_in_range, base._to_utc}


def _flat(meta: tuple[Any, ...]) -> list[Any]:
    out: list[Any] = []
    for m in meta:
        if isinstance(m, FieldInfo):
            out.extend(_flat(tuple(m.metadata)))
        else:
            out.append(m)
    return out


def _leaves(
    tp: Any, meta: tuple[Any, ...], path: str, seen: set[type]
) -> Iterator[tuple[str, Any, list[Any]]]:
    """(path, leaf type, its constraints) for every scalar reachable from `tp`."""
    origin = get_origin(tp)
    if origin is Annotated:
        inner, *extra = get_args(tp)
        yield from _leaves(inner, (*meta, *extra), path, seen)
    elif origin in (Union, types.UnionType):
        for arg in get_args(tp):
            if arg is not type(None):
                yield from _leaves(arg, meta, path, seen)
    elif origin in (list, tuple, set, frozenset):
        for arg in get_args(tp):
            if arg is not Ellipsis:
                yield from _leaves(arg, (), f"{path}[]", seen)
    elif origin is dict:
        key, value = get_args(tp)
        yield from _leaves(key, (), f"{path}{{key}}", seen)
        yield from _leaves(value, (), f"{path}{{}}", seen)
    elif isinstance(tp, type) and issubclass(tp, BaseModel):
        yield from _model_leaves(tp, path, seen)
    elif tp is AwareDatetime or tp is NaiveDatetime:
        yield path, datetime, _flat(meta)
    else:
        yield path, tp, _flat(meta)


def _model_leaves(
    model: type[BaseModel], path: str, seen: set[type]
) -> Iterator[tuple[str, Any, list[Any]]]:
    if model in seen:
        return
    seen = seen | {model}
    for name, info in model.model_fields.items():
        yield from _leaves(info.annotation, tuple(info.metadata), f"{path}.{name}", seen)


def _problems(leaves: Iterator[tuple[str, Any, list[Any]]]) -> list[str]:
    out: list[str] = []
    for path, tp, meta in leaves:
        if not isinstance(tp, type) or issubclass(tp, bool | Enum):
            continue
        if issubclass(tp, float):
            out.append(f"{path}: a float (money and quantities are int, decimals Decimal)")
        elif issubclass(tp, int | Decimal):
            uppers: list[Any] = [m.le for m in meta if isinstance(m, at.Le)]
            uppers += [m.lt for m in meta if isinstance(m, at.Lt)]
            lowers: list[Any] = [m.ge for m in meta if isinstance(m, at.Ge)]
            lowers += [m.gt for m in meta if isinstance(m, at.Gt)]
            if not uppers or min(uppers) > CEILING:
                out.append(f"{path}: {tp.__name__} upper bound {min(uppers, default=None)}")
            if not lowers or max(lowers) < -CEILING:
                out.append(f"{path}: {tp.__name__} lower bound {max(lowers, default=None)}")
        elif issubclass(tp, date):
            checks = {m.func for m in meta if isinstance(m, AfterValidator)}
            if not checks & TIME_CHECKS:
                out.append(f"{path}: {tp.__name__} without the 2000..2100 range check")
    return out


def _route_leaves(route: APIRoute) -> Iterator[tuple[str, Any, list[Any]]]:
    todo = [route.dependant]
    while todo:
        dep = todo.pop()
        todo.extend(dep.dependencies)
        for where, params in (
            ("path", dep.path_params),
            ("query", dep.query_params),
            ("body", dep.body_params),
            ("header", dep.header_params),
        ):
            for p in params:
                info = p.field_info
                yield from _leaves(
                    info.annotation, tuple(info.metadata), f"{where}.{p.name}", set()
                )


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for r in routes:
        if isinstance(r, APIRoute):
            yield r
        inner = getattr(r, "original_router", None) or getattr(r, "router", None)
        if inner is not None and hasattr(inner, "routes"):
            yield from _api_routes(list(inner.routes))


def _routes(service: str) -> list[APIRoute]:
    module = importlib.import_module(f"cobuild_{service}.app")
    app = create_app(module.definition())
    return list(_api_routes(list(app.routes)))


def test_the_ceiling_is_far_below_every_store() -> None:
    # PostgreSQL bigint holds 9.2*10^18; the evaluation ledger's daily row at bigint would need
    # 9.2*10^8 commitments at the cap on one day. Quantities and counts fit PostgreSQL integer.
    assert CEILING == base.MAX_FEN == 10**10
    assert max(base.MAX_QUANTITY, base.MAX_COUNT, base.MAX_VERSION, base.MAX_OFFSET) < 2**31 // 100
    assert (2**63 - 1) // base.MAX_FEN > 9 * 10**8


@pytest.mark.parametrize("event_type", ["envelope", *sorted(EVENT_TYPES)])
def test_every_number_of_every_event_is_bounded(event_type: str) -> None:
    cls = Envelope if event_type == "envelope" else EVENT_TYPES[event_type]
    problems = _problems(_model_leaves(cls, event_type, set()))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("service", SERVICES)
def test_every_number_of_every_command_and_query_is_bounded(service: str) -> None:
    problems: list[str] = []
    routes = _routes(service)
    assert routes
    for route in routes:
        for problem in _problems(_route_leaves(route)):
            problems.append(f"{sorted(route.methods or ())} {route.path} {problem}")
    assert not problems, "\n".join(problems)


def test_the_walk_sees_what_it_should() -> None:
    """The checker itself: an unbounded int, a bound above the ceiling and a bare date are
    found, in a nested model and behind Optional and list."""

    class Inner(BaseModel):
        n: int
        d: date | None = None

    class Outer(BaseModel):
        ok: base.Fen
        big: Annotated[int, at.Ge(0), at.Le(CEILING + 1)]
        items: list[Inner]
        flag: bool = False

    found = _problems(_model_leaves(Outer, "x", set()))
    assert found == [
        f"x.big: int upper bound {CEILING + 1}",
        "x.items[].n: int upper bound None",
        "x.items[].n: int lower bound None",
        "x.items[].d: date without the 2000..2100 range check",
    ]
