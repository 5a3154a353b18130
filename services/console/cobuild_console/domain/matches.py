"""Why the matcher suggested a unit, put for a person: the agreements service gives its
reasons in English with their figures; each becomes a catalogue message with its arguments."""

from __future__ import annotations

import re

from cobuild_console.domain.refusals import N_

_REASONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^same category \((\S+)\) and kind \((\S+)\)"), N_("Same category and kind")),
    (
        re.compile(r"^capacity (\d+) covers quantity (\d+)"),
        N_("Its capacity (%(0)s) covers the quantity asked (%(1)s)"),
    ),
    (
        re.compile(r"^capacity (\d+) covers part of quantity (\d+)"),
        N_("Its capacity (%(0)s) covers part of the quantity asked (%(1)s)"),
    ),
    (re.compile(r"^the unit is paired with the community"), N_("Paired with our community")),
    (re.compile(r"^the unit is paired in the same street"), N_("Paired in our street")),
    (re.compile(r"^the unit is in the same district"), N_("In our district")),
    (
        re.compile(r"^available (\S+)\.\.(\S+) reaches wanted-by (\S+)"),
        N_("Available from %(0)s to %(1)s, in time for the date wanted"),
    ),
)
OTHER = N_("Other reason: %(0)s")


def explain_reason(reason: str) -> tuple[str, tuple[str, ...]]:
    """A reason's message id and arguments; one the console does not know is shown as sent."""
    for pattern, message_id in _REASONS:
        found = pattern.search(reason)
        if found:
            return message_id, found.groups()
    return OTHER, (reason,)
