"""The parties directory's spreadsheet (共建单位名录导入), pure: the template's columns with
their Chinese headers, and each row read into the columns the agreements service's import
takes (kind, name, code, parent, unit_type, paired_communities), with the kinds and unit
types given by their names in either language. Row numbers stay the sheet's."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from cobuild_console.domain.refusals import N_

# (the service's column, the header of the template: a catalogue message)
COLUMNS: tuple[tuple[str, str], ...] = (
    ("kind", N_("Type")),
    ("name", N_("Party name")),
    ("code", N_("Code")),
    ("parent", N_("Parent (code)")),
    ("unit_type", N_("Unit type")),
    ("paired_communities", N_("Paired communities (codes, separated by ;)")),
)
REQUIRED = ("kind", "name")
MAX_ROWS = 2_000


@dataclass(frozen=True)
class SheetError:
    row: int  # 0: the whole file
    column: str  # the service's column name ("" for the whole row)
    message_id: str
    args: tuple[str, ...] = ()


def header_map(header_names: Mapping[str, str]) -> dict[str, str]:
    """Header text (lowercased, as the kit reads it) → the service's column: each column by
    its header in the template's language, in English, or by its own name."""
    out: dict[str, str] = {}
    for column, message in COLUMNS:
        out[column] = column
        out[message.lower()] = column
        if column in header_names:
            out[header_names[column].strip().lower()] = column
    return out


def vocabulary(entries: Sequence[Mapping[str, object]]) -> dict[str, str]:
    """A reference vocabulary's names (both languages) and codes → the code."""
    out: dict[str, str] = {}
    for e in entries:
        code = str(e["code"])
        out[code.lower()] = code
        labels = e.get("labels")
        if isinstance(labels, Mapping):
            for label in labels.values():
                out[str(label).strip().lower()] = code
    return out


def service_rows(
    rows: Sequence[tuple[int, Mapping[str, str]]],
    columns: Mapping[str, str],
    kinds: Mapping[str, str],
    unit_types: Mapping[str, str],
) -> tuple[list[tuple[int, dict[str, str]]], list[SheetError]]:
    """Each row's cells under the service's columns, kinds and unit types as codes; and the
    errors this side can see (a missing name or kind, a kind or unit type no one knows)."""
    found: list[tuple[int, dict[str, str]]] = []
    errors: list[SheetError] = []
    for number, cells in rows:
        row = {columns[h]: v for h, v in cells.items() if h in columns}
        for column in REQUIRED:
            if not row.get(column):
                errors.append(SheetError(number, column, N_("This field is required.")))
        for column, words in (("kind", kinds), ("unit_type", unit_types)):
            typed = row.get(column, "")
            if typed:
                code = words.get(typed.strip().lower())
                if code is None:
                    errors.append(
                        SheetError(
                            number, column, N_("Not one of the listed options: %(0)s"), (typed,)
                        )
                    )
                else:
                    row[column] = code
        found.append((number, row))
    return found, errors


def missing_columns(columns: Mapping[str, str], header: Sequence[str]) -> list[str]:
    present = {columns.get(h) for h in header}
    return [c for c in REQUIRED if c not in present]


def service_error(
    number_of: Callable[[int], int], row: int, field: str, message: str
) -> SheetError:
    """The service's row error, at the sheet's row number, in a message of the catalogue."""
    return SheetError(number_of(row), field, *_explained(message))


_KNOWN = (
    ("no party has code", N_("No party has the code %(0)s.")),
    ("is already used by another party", N_("The code %(0)s is already used by another party.")),
    ("a unit needs a unit_type", N_("A co-building unit needs its unit type.")),
    ("only a unit has a unit_type", N_("Only a co-building unit has a unit type.")),
    ("only a unit is paired", N_("Only a co-building unit is paired with communities.")),
    ("is not a registered community", N_("%(0)s is not a registered community.")),
    (
        "belongs under a",
        N_(
            "The parent does not fit: a street belongs to a district, a community to a street, a grid to a community, a co-building unit to a district."
        ),
    ),
    ("a district has no parent", N_("A district has no parent.")),
    ("may not register", N_("You may not register this party there.")),
    (
        "has no authority over community",
        N_("You may not pair a unit with a community outside your district."),
    ),
)


def _explained(message: str) -> tuple[str, tuple[str, ...]]:
    for needle, message_id in _KNOWN:
        if needle in message:
            quoted = re.findall(r"'([^']*)'", message) or re.findall(r"(\S+) is not", message)
            return message_id, tuple(quoted[:1]) if "%(0)s" in message_id else ()
    return N_("This row was not accepted: %(0)s"), (message,)
