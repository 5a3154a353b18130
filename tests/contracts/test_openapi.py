"""Every service's OpenAPI document is complete enough to generate a client from, and says
what the service really answers (the structure issue's "The API as a product"):

- every operation has a 2xx response with a schema (or a named file type), and no free-form
  object (`dict[str, Any]`) anywhere in a response;
- every operation that takes input documents 422 with the kit's refusal body; every operation
  that takes a token documents 401 and 403; every operation with a path id documents 404, and
  every command with a path id documents 409;
- every list answers with the kit's page (`items`, `total`, `limit`, `offset`, `next_offset`).
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from cobuild_kit.service import create_app

SERVICES = ("agreements", "commitments", "points", "evaluation", "access", "escalations")
MUTATING = {"post", "put", "patch", "delete"}
# The kit's own plain-text and operations endpoints, documented by the kit.
KIT_PATHS = {"/healthz", "/readyz", "/metrics"}
# Free-form on purpose, each with its reason.
FREE_FORM_ALLOWED = {
    # A commitment's history shows each event's payload as it was published; its schema is
    # docs/contracts/<event_type>.schema.json, named by the entry's event_type.
    "HistoryEntry.payload.(object of anything)",
}
FILE_TYPES = {
    "text/csv",
    "text/html",
    "text/plain",
    "application/octet-stream",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "image/png",
    "image/svg+xml",
}


def _document(service: str) -> dict[str, Any]:
    module = importlib.import_module(f"cobuild_{service}.app")
    doc: dict[str, Any] = create_app(module.definition()).openapi()
    return doc


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, operations in doc["paths"].items()
        for method, operation in operations.items()
        if path not in KIT_PATHS
    ]


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _free_objects(doc: dict[str, Any], schema: dict[str, Any], seen: set[str]) -> list[str]:
    """Places in a schema where an object takes any keys and values (dict[str, Any])."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        seen.add(name)
        return [f"{name}.{p}" for p in _free_objects(doc, _resolve(doc, schema), seen)]
    found: list[str] = []
    if schema.get("type") == "object" and "properties" not in schema:
        extra = schema.get("additionalProperties", True)
        if extra is True or extra == {}:
            found.append("(object of anything)")
        elif isinstance(extra, dict):
            found += _free_objects(doc, extra, seen)
    for key in ("properties",):
        for name, sub in schema.get(key, {}).items():
            found += [f"{name}.{p}" if p else name for p in _free_objects(doc, sub, seen)]
    for key in ("items",):
        if isinstance(schema.get(key), dict):
            found += _free_objects(doc, schema[key], seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            found += _free_objects(doc, sub, seen)
    return found


def _problems(doc: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for path, method, op in _operations(doc):
        where = f"{method.upper()} {path}"
        responses = op.get("responses", {})
        ok = [code for code in responses if code.startswith("2")]
        if not ok:
            problems.append(f"{where}: no 2xx response")
        for code in ok:
            content = responses[code].get("content", {})
            if code == "204":
                continue
            if not content:
                problems.append(f"{where}: {code} has no content type")
            for media, body in content.items():
                if media in FILE_TYPES:
                    continue
                schema = body.get("schema", {})
                if not schema:
                    problems.append(f"{where}: {code} {media} has no schema")
                    continue
                # An allowed place stays allowed inside a page (Page_HistoryEntry_.items.…).
                free = [
                    f
                    for f in _free_objects(doc, schema, set())
                    if not any(f == a or f.endswith(f".{a}") for a in FREE_FORM_ALLOWED)
                ]
                if free:
                    problems.append(f"{where}: {code} has free-form objects at {free}")
        takes_input = bool(op.get("parameters")) or "requestBody" in op
        needs = set()
        if takes_input:
            needs.add("422")
        if op.get("security"):
            needs |= {"401", "403"}
        if "{" in path:
            needs.add("404")
            if method in MUTATING and op.get("security"):
                needs.add("409")
        missing = sorted(needs - set(responses))
        if missing:
            problems.append(f"{where}: refusals not documented: {', '.join(missing)}")
        for code in set(responses) & {"401", "403", "404", "409", "422"}:
            schema = responses[code].get("content", {}).get("application/json", {}).get("schema")
            if schema != {"$ref": "#/components/schemas/ErrorBody"}:
                problems.append(f"{where}: {code} is not documented with ErrorBody")
    return problems


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_is_documented_with_its_answers_and_refusals(service: str) -> None:
    problems = _problems(_document(service))
    assert problems == [], f"{len(problems)} problems:\n" + "\n".join(problems)


@pytest.mark.parametrize("service", SERVICES)
def test_operation_ids_are_unique_handler_names(service: str) -> None:
    """A generated client names its functions after these."""
    ids = [op["operationId"] for _, _, op in _operations(_document(service))]
    assert len(ids) == len(set(ids))
    verbs = ("_get", "_post", "_put", "_patch", "_delete")
    assert all(i.isidentifier() and not i.endswith(verbs) for i in ids), ids


@pytest.mark.parametrize("service", SERVICES)
def test_every_list_is_the_kit_page(service: str) -> None:
    doc = _document(service)
    lists = []
    for path, method, op in _operations(doc):
        for code, answer in op.get("responses", {}).items():
            schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
            if code.startswith("2") and _resolve(doc, schema).get("type") == "array":
                lists.append(f"{method.upper()} {path}")
    assert lists == [], "bare arrays instead of a Page:\n" + "\n".join(lists)
