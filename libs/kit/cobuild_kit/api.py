"""The shapes every service's HTTP API shares, documented once: the refusal body, one way to
page a list, and the refusals an operation can answer with.

Paging (every list endpoint): `?limit=&offset=`; the answer is a `Page` with the items, the
total when it is cheap to count, and `next_offset` (null on the last page). Refusals: a body
`{"error": code, "message": text, "field": "body.items.0.deadline", "fields": [...]}` with
401 (no valid token), 403 (may not act for that party), 404 (no such thing, or outside the
actor's subtree), 409 (the current state forbids it; the message names the state), 413 (too
large), 422 (bad input; `field` names it), 429 (too many attempts), 503 (retry shortly).
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from cobuild_contracts.base import MAX_OFFSET
from fastapi import FastAPI, Query
from pydantic import BaseModel, Field

T = TypeVar("T")

MAX_PAGE = 500
DEFAULT_PAGE = 100


class FieldError(BaseModel):
    field: str | None = Field(description="where: body.items.0.deadline, query.offset, ...")
    message: str


class ErrorBody(BaseModel):
    """Every refusal's body."""

    error: str = Field(description="a stable code: invalid, validation, forbidden, not_found, ...")
    message: str = Field(description="what is wrong, for a person")
    field: str | None = Field(default=None, description="the input it is about, if any")
    fields: list[FieldError] | None = Field(
        default=None, description="every failing input, for schema validation (422)"
    )


class Page(BaseModel, Generic[T]):
    """One page of a list: `next_offset` is where the next page starts, null on the last."""

    items: list[T]
    total: int | None = Field(description="how many there are in all, where cheap to count")
    limit: int
    offset: int
    next_offset: int | None


Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="items per page")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")]


def page_of(items: list[T], *, limit: int, offset: int, total: int | None) -> Page[T]:
    """A page of `items` (at most `limit`) starting at `offset`. Without a total, a full page
    is taken to have a next one (the client finds the end on an empty or short page)."""
    more = offset + len(items) < total if total is not None else len(items) == limit
    return Page[T](
        items=items,
        total=total,
        limit=limit,
        offset=offset,
        next_offset=offset + len(items) if more else None,
    )


def refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for an operation: each status documented with the refusal body."""
    return {status: {"model": ErrorBody, "description": _MEANING[status]} for status in statuses}


_MEANING = {
    401: "no valid bearer token",
    403: "the actor may not do this for that party; the message says why",
    404: "no such thing, or it lies outside the actor's subtree",
    409: "the current state forbids it; the message names the state",
    410: "it existed, and will never work again (a spent or expired code)",
    413: "the request, or the event it would cause, is too large",
    422: "bad input; `field` names it",
    429: "too many attempts; wait and retry (Retry-After)",
    503: "a dependency cannot answer now; retry shortly (Retry-After)",
}

# What every operation of a service with bearer tokens can answer.
AUTHENTICATED = refusals(401, 403, 422)


def truthful_openapi(app: FastAPI) -> None:
    """FastAPI documents its own validation body for 422; Cobuild answers every refusal with
    `ErrorBody` (http.install_error_handlers). Rewrite the generated document to say so."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = build()
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        ref = "#/components/schemas/ErrorBody"
        if "ErrorBody" not in schemas:
            schemas.update(_error_schemas())
        for operations in doc.get("paths", {}).values():
            for operation in operations.values():
                answer = operation.get("responses", {}).get("422")
                if answer is not None:
                    answer["content"] = {"application/json": {"schema": {"$ref": ref}}}
                    answer["description"] = _MEANING[422]
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def _error_schemas() -> dict[str, Any]:
    schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return {"ErrorBody": schema, **defs}
