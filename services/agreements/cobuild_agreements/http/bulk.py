"""What bulk commands (a community's needs, a unit's resources) answer when they refuse: every
refused item, each `{index, field, message}`, whether the rules or the schema refused it."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from cobuild_agreements.usecases.bulk import ItemRefusal


def bulk_refusal(
    refused: list[ItemRefusal], total: int, *, status: int, verb: str = "published"
) -> JSONResponse:
    """The kit's refusal body (`fields` as every 422 has them) plus `items`, one entry per
    refused item: `{index, field, message}`."""
    message = f"{len({r.index for r in refused})} of {total} item(s) refused; nothing was {verb}"
    code = "conflict" if status == 409 else "bulk_rejected"
    return JSONResponse(
        {
            "error": code,
            "message": message,
            "field": "body.items",
            "fields": [{"field": r.field, "message": r.message} for r in refused],
            "items": [{"index": r.index, "field": r.field, "message": r.message} for r in refused],
        },
        status_code=status,
    )


class BulkRoute(APIRoute):
    """A bulk command answers a schema refusal of its items as it answers their rule
    refusals: per item. Other schema refusals (no `items`, too many) keep the kit's body."""

    verb = "published"  # nothing was <verb>

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        verb = self.verb

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                refused = [
                    ItemRefusal(int(loc[2]), ".".join(str(p) for p in loc), e.get("msg", ""))
                    for e in exc.errors()
                    if len(loc := tuple(e.get("loc", ()))) > 2
                    and loc[:2] == ("body", "items")
                    and isinstance(loc[2], int)
                ]
                if not refused:
                    raise
                body = await request.json()
                return bulk_refusal(refused, len(body.get("items", [])), status=422, verb=verb)

        return route


class OfferRoute(BulkRoute):
    verb = "offered"
