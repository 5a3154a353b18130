"""One refusal vocabulary: every kind of refusal has its HTTP status in one table, and none
carries a status of its own."""

from __future__ import annotations

import inspect

from cobuild_kit import errors
from cobuild_kit.http import HTTP_STATUS, http_status


def _refusals() -> list[type[errors.CobuildError]]:
    return [
        kind
        for _, kind in inspect.getmembers(errors, inspect.isclass)
        if issubclass(kind, errors.CobuildError) and kind is not errors.CobuildError
    ]


def test_every_refusal_has_a_status_in_the_table() -> None:
    missing = [kind.__name__ for kind in _refusals() if kind not in HTTP_STATUS]
    assert missing == []


def test_no_refusal_carries_an_http_status() -> None:
    assert [k.__name__ for k in _refusals() if "status" in vars(k)] == []


def test_a_service_refusal_takes_the_status_of_the_kind_it_derives_from() -> None:
    class StaleVersion(errors.Conflict):
        code = "stale_version"

    assert http_status(StaleVersion("version 3 is not the latest")) == 409
    assert http_status(errors.TooManyRequests("slow down")) == 429
