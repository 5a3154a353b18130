"""The shared API shapes: one page scheme, and a document that names the refusal body."""

from __future__ import annotations

from cobuild_kit.api import Limit, Offset, Page, page_of, truthful_openapi
from cobuild_kit.http import install_error_handlers
from fastapi import FastAPI
from fastapi.testclient import TestClient


def test_a_page_knows_where_the_next_one_starts() -> None:
    assert page_of([1, 2], limit=2, offset=0, total=5).next_offset == 2
    assert page_of([5], limit=2, offset=4, total=5).next_offset is None
    assert page_of([1, 2], limit=2, offset=0, total=None).next_offset == 2  # full: maybe more
    assert page_of([1], limit=2, offset=2, total=None).next_offset is None


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    truthful_openapi(app)

    @app.post("/echo")
    async def echo(body: dict[str, int]) -> dict[str, int]:
        return body

    @app.get("/numbers")
    async def numbers(limit: Limit = 2, offset: Offset = 0) -> Page[int]:
        items = list(range(10))[offset : offset + limit]
        return page_of(items, limit=limit, offset=offset, total=10)

    return app


def test_the_document_names_the_refusal_body_cobuild_sends() -> None:
    app = _app()
    doc = app.openapi()
    answer = doc["paths"]["/numbers"]["get"]["responses"]["422"]
    assert answer["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    refused = TestClient(app).get("/numbers?limit=0")
    assert refused.status_code == 422
    assert set(refused.json()) <= set(doc["components"]["schemas"]["ErrorBody"]["properties"])
    assert refused.json()["field"] == "query.limit"


def test_a_body_that_cannot_be_parsed_is_a_422_error_body_not_a_400() -> None:
    """FastAPI's own 400 "There was an error parsing the body" (JSON not in UTF-8 here) was
    undocumented and had no ErrorBody (found by schemathesis in tests/security)."""
    client = TestClient(_app())
    refused = client.post(
        "/echo", content=b'{"a": "\xff"}', headers={"content-type": "application/json"}
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "validation" and refused.json()["field"] == "body"
    assert client.get("/nowhere").status_code == 404  # other HTTP errors as before
