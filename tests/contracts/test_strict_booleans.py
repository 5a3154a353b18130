"""Every boolean a client sends is a JSON boolean: `{"active": 0}` once deactivated a
community (the hardening issue's "lax booleans"). The walk covers the body models of every
route of every service, and finds at least the booleans it knows of."""

from __future__ import annotations

import importlib
import types
import typing
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic.types import Strict

SERVICES = ("agreements", "commitments", "points", "evaluation", "access")


def lax_bools(tp: Any, path: str, strict: bool, seen: set[type], out: list[str]) -> int:
    """Walk a type; list the paths of bools that are not strict; return how many bools."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        base, *meta = typing.get_args(tp)
        strict = strict or any(isinstance(m, Strict) and m.strict for m in meta)
        return lax_bools(base, path, strict, seen, out)
    if tp is bool:
        if not strict:
            out.append(path)
        return 1
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp in seen:
            return 0
        seen.add(tp)
        model_strict = bool(tp.model_config.get("strict"))
        found = 0
        for name, info in tp.model_fields.items():
            field_strict = model_strict or any(
                isinstance(m, Strict) and m.strict for m in info.metadata
            )
            found += lax_bools(info.annotation, f"{path}.{name}", field_strict, seen, out)
        return found
    if origin in (typing.Union, types.UnionType):
        return sum(lax_bools(a, path, strict, seen, out) for a in typing.get_args(tp))
    return sum(lax_bools(a, f"{path}[]", False, seen, out) for a in typing.get_args(tp))


def _walk(service: str) -> tuple[int, list[str]]:
    definition = importlib.import_module(f"cobuild_{service}.app").definition()
    lax: list[str] = []
    bools = 0
    for route in (r for router in definition.routers for r in router.routes):
        if not isinstance(route, APIRoute):
            continue
        # Bodies only: a query string is text, and `?overdue=true` is how it spells a boolean.
        for param in route.dependant.body_params:
            name = f"{route.path} {param.name}"
            bools += lax_bools(param.field_info.annotation, name, False, set(), lax)
    return bools, lax


@pytest.mark.parametrize("service", SERVICES)
def test_every_boolean_a_client_sends_is_strict(service: str) -> None:
    _, lax = _walk(service)
    assert lax == []


def test_the_walk_sees_the_booleans() -> None:
    """It finds PATCH /parties' `active` (agreements): a walk that saw nothing would pass."""
    assert _walk("agreements")[0] >= 1
