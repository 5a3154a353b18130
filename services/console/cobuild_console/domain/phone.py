"""What the phone pages say about the points service's answers, in the catalogue's words: why
a check-in was refused (with when the window opens or closed), what caused a points entry and
which cap cut it. Message ids are English, translated by the catalogue."""

from __future__ import annotations

import re

from cobuild_console.domain.refusals import N_

# The points service's refusals of a check-in, and what the member reads instead.
_CHECK_IN: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"check-in has not opened yet: it opens at (\S+ \S+)"),
        N_("Check-in has not opened yet: it opens at %(0)s."),
    ),
    (
        re.compile(r"check-in has closed: it closed at (\S+ \S+)"),
        N_("Check-in has closed: it closed at %(0)s."),
    ),
    (
        re.compile(r"check-in is open only during the activity's window"),
        N_("Check-in is open only while the activity is on."),
    ),
    (re.compile(r"already checked in"), N_("You have already checked in to this activity.")),
    (
        re.compile(r"has not signed up"),
        N_("You have not signed up for this activity, so you cannot check in."),
    ),
    (
        re.compile(r"check-in token is not valid"),
        N_("This QR code is not valid for this activity. Scan the code shown on site again."),
    ),
    (
        re.compile(r"too many check-in attempts"),
        N_("Too many attempts; wait a minute and try again."),
    ),
)


def check_in_refusal(message: str) -> tuple[str, tuple[str, ...]]:
    for pattern, message_id in _CHECK_IN:
        found = pattern.search(message)
        if found:
            return message_id, found.groups()
    return N_("The check-in was not accepted."), ()


# A points entry's cause, by its rule's category.
CAUSES = {
    "activity": N_("Volunteer activity"),
    "task": N_("Co-building task"),
    "wish": N_("Micro-wish"),
}

# The cap that cut an award (the points service names it in English).
_CAPS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^daily cap"), N_("the daily cap")),
    (re.compile(r"^per-activity cap"), N_("the per-activity cap")),
    (re.compile(r"yearly cap$"), N_("the yearly cap of its kind")),
)


def cap_label(cap_reason: str | None) -> str | None:
    if not cap_reason:
        return None
    for pattern, message_id in _CAPS:
        if pattern.search(cap_reason):
            return message_id
    return N_("a cap")


def requested_points(reason: str) -> str | None:
    """What the rule would have given before a cap cut it: the service writes
    "...; capped by the daily cap (6.00 → 4.00)"."""
    found = re.search(r"\((\d+(?:\.\d+)?) → \d+(?:\.\d+)?\)$", reason)
    return found.group(1) if found else None


def file_size(size_bytes: int) -> str:
    """A file's size as a phone page shows it, so someone on a slow connection knows what a
    tap will cost: 83 B, 15 KB, 3.1 MB (units, not words: the same in every language)."""
    if size_bytes < 1024:
        return f"{size_bytes} B"
    if size_bytes < 1024 * 1024:
        return f"{round(size_bytes / 1024)} KB"
    return f"{size_bytes / (1024 * 1024):.1f} MB"
