"""What a service's refusal says, put for a person: which form field it is about, and a
message id (English, translated by the catalogue) with its arguments.

The services answer `{"error", "message", "field", "fields"}` with `field` a path such as
`body.wanted_by`; their messages are English for developers. The page shows a message of the
catalogue beside the field it names (ARCHITECTURE.md, "Commands in, facts out")."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass


def N_(message: str) -> str:
    return message


@dataclass(frozen=True)
class FieldMessage:
    field: str | None  # the form's input name; None: about the whole form
    message_id: str
    args: tuple[str, ...] = ()


# The schema's and the rules' messages the services send, and what a person reads instead.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^Field required"), N_("This field is required.")),
    (re.compile(r"^String should have at least 1 character"), N_("This field cannot be empty.")),
    (re.compile(r"^must not be blank"), N_("This field cannot be empty.")),
    (
        re.compile(r"^String should have at most (\d+) character"),
        N_("Too long: at most %(0)s characters."),
    ),
    (re.compile(r"^Input should be greater than or equal to (\S+)"), N_("Must be at least %(0)s.")),
    (re.compile(r"^Input should be greater than (\S+)"), N_("Must be more than %(0)s.")),
    (re.compile(r"^Input should be less than or equal to (\S+)"), N_("Must be at most %(0)s.")),
    (re.compile(r"^Input should be a valid date"), N_("Enter a date, such as 2026-05-01.")),
    (re.compile(r"^Input should be a valid integer"), N_("Enter a whole number.")),
    (re.compile(r"^Input should be "), N_("Choose one of the listed options.")),
    (re.compile(r"^unknown category"), N_("Choose one of the listed categories.")),
    (re.compile(r"^wanted_by \S+ is before today"), N_("The date cannot be before today.")),
    (re.compile(r"^deadline \S+ is before today"), N_("The date cannot be before today.")),
    (re.compile(r"^available_until \S+ is before today"), N_("The date cannot be before today.")),
    (re.compile(r"^\S+ is before \S+"), N_("The end date cannot be before the start date.")),
    (
        re.compile(r"must be an 11-digit mobile number"),
        N_("Enter an 11-digit mobile number starting with 1."),
    ),
)

# By refusal code, when the message is not one of the above.
_BY_CODE: Mapping[str, str] = {
    "forbidden": N_("You may not do this for this party."),
    "not_found": N_("It does not exist, or it is not yours to see."),
    "conflict": N_("Its state has changed in the meantime; reload the page and look again."),
    "too_large": N_("Too large to be accepted."),
    "rate_limited": N_("Too many attempts; wait a minute and try again."),
    "unavailable": N_("The service is busy; try again shortly."),
}
GENERIC = N_("This entry was not accepted; check it and try again.")


def form_field(path: str | None, renamed: Mapping[str, str]) -> str | None:
    """`body.funds_fen` → the form's `funds_yuan` (by `renamed`), `body.title` → `title`;
    a path outside the body (or none) concerns the whole form."""
    if not path or not path.startswith("body."):
        return None
    name = path.removeprefix("body.").split(".", 1)[0]
    return renamed.get(name, name)


def explain(message: str, code: str) -> tuple[str, tuple[str, ...]]:
    for pattern, message_id in _PATTERNS:
        found = pattern.search(message)
        if found:
            return message_id, found.groups()
    return _BY_CODE.get(code, GENERIC), ()


def field_messages(
    body: Mapping[str, object], renamed: Mapping[str, str], known: frozenset[str]
) -> list[FieldMessage]:
    """Every field the refusal names (`fields` when given, else `field`), as messages for a
    form whose inputs are `known`; a field the form lacks goes to the whole form."""
    code = str(body.get("error") or "")
    entries: list[tuple[str | None, str]] = []
    listed = body.get("fields")
    if isinstance(listed, list) and listed:
        for entry in listed:
            if isinstance(entry, Mapping):
                entries.append((_str(entry.get("field")), str(entry.get("message") or "")))
    else:
        entries.append((_str(body.get("field")), str(body.get("message") or "")))
    out: list[FieldMessage] = []
    for path, message in entries:
        name = form_field(path, renamed)
        message_id, args = explain(message, code)
        out.append(FieldMessage(name if name in known else None, message_id, args))
    return out


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None
