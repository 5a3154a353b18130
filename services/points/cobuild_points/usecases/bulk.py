"""Bulk commands, all or nothing: every item is checked (and authorised) before anything is
written; any failing item refuses the whole request, naming each failing item and why."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cobuild_kit.errors import CobuildError

# Items one request may carry: enough for a community's roster or an activity's attendees in
# one call, few enough that the transaction (and its locks) stays short.
MAX_ITEMS = 1_000


@dataclass(frozen=True)
class ItemFailure:
    field: str  # where: body.member_ids.3, body.attendance.2.hours
    error: CobuildError

    @property
    def message(self) -> str:
        return f"{self.error.code}: {self.error.message}"


class ItemsRefused(CobuildError):
    """The whole request refused; `first` is the first failing item's refusal (its status is
    the answer's), `items` every failing item."""

    def __init__(self, failures: list[ItemFailure], of: int) -> None:
        first = failures[0]
        super().__init__(
            f"{len(failures)} of {of} item(s) refused, nothing was applied; "
            f"first: {first.field}: {first.error.message}",
            field=first.field,
        )
        self.code = first.error.code
        self.first = first.error
        self.items = failures


class ItemChecks:
    """Collects each item's refusal under `body.<list>.<index>` instead of stopping at one."""

    def __init__(self, field: str) -> None:
        self._field = field
        self.failures: list[ItemFailure] = []

    def fail(self, index: int, error: CobuildError) -> None:
        where = f"{self._field}.{index}"
        if error.field and error.field.startswith("body."):  # e.g. body.hours of one item
            where = f"{where}.{error.field.removeprefix('body.')}"
        self.failures.append(ItemFailure(where, error))

    def check(self, index: int, rule: Callable[[], object]) -> bool:
        try:
            rule()
        except CobuildError as error:
            self.fail(index, error)
            return False
        return True

    def refuse_if_any(self, of: int) -> None:
        if self.failures:
            raise ItemsRefused(self.failures, of)
