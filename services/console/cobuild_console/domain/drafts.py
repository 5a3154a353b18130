"""A draft against the one before it: which commitments a counter-proposal added, dropped or
changed, and in which of the four fixes (四定: what, who, deadline, funds). Items keep their
commitment id across rounds when unchanged or named (ARCHITECTURE.md, "Ids"), so the id says
which item is which."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cobuild_console.domain.refusals import N_

# The fields a person reads in a diff, in the order the page shows them, with their label.
COMPARED: tuple[tuple[str, str], ...] = (
    ("title", N_("Project")),
    ("description", N_("Description")),
    ("obligor_party_id", N_("Responsible party")),
    ("responsible_title", N_("Responsible")),
    ("deadline", N_("Deadline")),
    ("funds_fen", N_("Funds")),
    ("quantity", N_("Quantity")),
    ("quantity_unit", N_("Unit of quantity")),
    ("kind", N_("Kind")),
    ("category", N_("Category")),
)


class Change(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    SAME = "same"


@dataclass(frozen=True)
class FieldChange:
    name: str
    label: str  # a message id
    before: Any
    after: Any


@dataclass(frozen=True)
class ItemDiff:
    change: Change
    item: Mapping[str, Any]  # the item as it is now (as it was, for a removed one)
    fields: list[FieldChange] = field(default_factory=list)


@dataclass(frozen=True)
class TermsDiff:
    before: tuple[str, str]
    after: tuple[str, str]

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True)
class DraftDiff:
    items: list[ItemDiff]
    terms: TermsDiff

    @property
    def changed(self) -> bool:
        return self.terms.changed or any(i.change is not Change.SAME for i in self.items)


def compare(previous: Mapping[str, Any], current: Mapping[str, Any]) -> DraftDiff:
    """The current round against the previous one: its items in its order (removed ones at
    the end), each with what changed."""
    before = {str(i["commitment_id"]): i for i in previous["items"]}
    seen: set[str] = set()
    out: list[ItemDiff] = []
    for item in current["items"]:
        key = str(item["commitment_id"])
        seen.add(key)
        old = before.get(key)
        if old is None:
            out.append(ItemDiff(Change.ADDED, item))
            continue
        changes = _fields(old, item)
        out.append(ItemDiff(Change.CHANGED if changes else Change.SAME, item, changes))
    out += [ItemDiff(Change.REMOVED, i) for k, i in before.items() if k not in seen]
    terms = TermsDiff(
        (str(previous["term_start"]), str(previous["term_end"])),
        (str(current["term_start"]), str(current["term_end"])),
    )
    return DraftDiff(out, terms)


def _fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[FieldChange]:
    return [
        FieldChange(name, label, old.get(name), new.get(name))
        for name, label in COMPARED
        if old.get(name) != new.get(name)
    ]


def previous_round(
    rounds: Sequence[Mapping[str, Any]], current: Mapping[str, Any]
) -> Mapping[str, Any] | None:
    """The round the current one answers (`counters_version`), else the one before it."""
    by_version = {int(r["version"]): r for r in rounds}
    answered = current.get("counters_version")
    if answered is not None and int(answered) in by_version:
        return by_version[int(answered)]
    earlier = [r for r in rounds if int(r["version"]) < int(current["version"])]
    return max(earlier, key=lambda r: int(r["version"])) if earlier else None
