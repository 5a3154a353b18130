"""Draft commitments: the rules a draft's items keep, and stable commitment ids across rounds.

The service mints a commitment id when an item first appears in a draft. In a later round an
item keeps its id when the proposer names it (`commitment_id`) or when it is unchanged; any
other item is new and gets a new id (ARCHITECTURE.md, "Ids").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from cobuild_contracts import CommitmentItem, ItemKind, uuid7
from cobuild_contracts.reference import valid_codes
from cobuild_kit.errors import Invalid


@dataclass(frozen=True)
class DraftItem:
    """An item as a proposer writes it: a `CommitmentItem` whose id may still be unknown."""

    title: str
    kind: ItemKind
    category: str
    obligor_party_id: UUID
    beneficiary_party_id: UUID
    responsible_title: str
    deadline: date
    description: str = ""
    responsible_member_id: UUID | None = None
    funds_fen: int = 0
    quantity: int = 1
    quantity_unit: str = "item"
    need_id: UUID | None = None
    commitment_id: UUID | None = None

    def terms(self) -> dict[str, Any]:
        """Everything but the id: what "unchanged" compares."""
        out: dict[str, Any] = {k: v for k, v in vars(self).items() if k != "commitment_id"}
        return out


def _terms(item: CommitmentItem) -> dict[str, Any]:
    data = item.model_dump()
    data.pop("commitment_id")
    return data


@dataclass(frozen=True)
class DraftRules:
    """What every item must satisfy, whatever the round."""

    parties: frozenset[UUID]
    categories: frozenset[str]
    today: date

    def check(self, items: Sequence[DraftItem], prefix: str = "body.items") -> None:
        if not items:
            raise Invalid("a draft lists at least one commitment", field=prefix)
        for n, item in enumerate(items):
            where = f"{prefix}.{n}"
            for name in ("obligor_party_id", "beneficiary_party_id"):
                if getattr(item, name) not in self.parties:
                    raise Invalid(
                        f"{name} must be one of the agreement's two parties",
                        field=f"{where}.{name}",
                    )
            if item.obligor_party_id == item.beneficiary_party_id:
                raise Invalid(
                    "the beneficiary must be the other party",
                    field=f"{where}.beneficiary_party_id",
                )
            if item.category not in self.categories:
                raise Invalid(
                    f"unknown category {item.category!r}; {valid_codes(self.categories)}",
                    field=f"{where}.category",
                )
            if item.deadline < self.today:
                raise Invalid(
                    f"deadline {item.deadline} is before today ({self.today})",
                    field=f"{where}.deadline",
                )


def carry_ids(
    items: Sequence[DraftItem],
    previous: Iterable[CommitmentItem],
    *,
    mint: Callable[[], UUID] = uuid7,
    prefix: str = "body.items",
) -> list[CommitmentItem]:
    """Give every draft item its commitment id: named, unchanged from `previous`, or new."""
    earlier = {item.commitment_id: item for item in previous}
    taken: set[UUID] = set()
    for n, item in enumerate(items):
        cid = item.commitment_id
        if cid is None:
            continue
        if cid not in earlier:
            raise Invalid(
                f"commitment {cid} is not in the previous version",
                field=f"{prefix}.{n}.commitment_id",
            )
        if cid in taken:
            raise Invalid(f"commitment {cid} is named twice", field=f"{prefix}.{n}.commitment_id")
        taken.add(cid)
    out: list[CommitmentItem] = []
    for item in items:
        cid = item.commitment_id or _unchanged(item, earlier, taken) or mint()
        taken.add(cid)
        out.append(CommitmentItem(commitment_id=cid, **item.terms()))
    return out


def _unchanged(
    item: DraftItem, earlier: dict[UUID, CommitmentItem], taken: set[UUID]
) -> UUID | None:
    terms = item.terms()
    for cid, old in earlier.items():
        if cid not in taken and _terms(old) == terms:
            return cid
    return None


@dataclass(frozen=True)
class Amendment:
    """What an amendment changes: the items it adds and the commitments it cancels."""

    added: list[CommitmentItem]
    cancelled: list[UUID]

    def apply(self, current: Sequence[CommitmentItem]) -> list[CommitmentItem]:
        gone = set(self.cancelled)
        return [item for item in current if item.commitment_id not in gone] + self.added


def diff(before: Sequence[CommitmentItem], after: Sequence[CommitmentItem]) -> Amendment:
    """The amendment that turns the items in force into those of a signed new version."""
    old = {item.commitment_id for item in before}
    new = {item.commitment_id for item in after}
    return Amendment(
        added=[item for item in after if item.commitment_id not in old],
        cancelled=[item.commitment_id for item in before if item.commitment_id not in new],
    )


def check_cancellations(
    cancelled: Sequence[UUID], current: Sequence[CommitmentItem], added: int
) -> None:
    known = {item.commitment_id for item in current}
    for n, cid in enumerate(cancelled):
        if cid not in known:
            raise Invalid(
                f"commitment {cid} is not in force in this agreement",
                field=f"body.cancelled_commitment_ids.{n}",
            )
    if not added and not cancelled:
        raise Invalid("an amendment adds or cancels at least one commitment", field="body")
    if len(set(cancelled)) >= len(known) and not added:
        raise Invalid(
            "an amendment cannot cancel every commitment; terminate the agreement instead",
            field="body.cancelled_commitment_ids",
        )


__all__ = ["Amendment", "DraftItem", "DraftRules", "carry_ids", "check_cancellations", "diff"]
