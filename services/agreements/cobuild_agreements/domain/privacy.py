"""Personal data typed into free text: a phone or an ID number in a need's or a resource's
title or description (ARCHITECTURE.md, "Personal data").

Found are Chinese mobile numbers (1[3-9] and nine digits, spaces or dashes allowed between the
digits, an optional +86), landlines (an area code 0xx or 0xxx, then 7 or 8 digits; or 7 or 8
digits after a word such as 电话) and resident ID numbers (18 characters, the last may be X).
The stored text is kept for the parties; what leaves the service (the public board, the
events) is masked: 138****5678, 010-****5678, 1101**********1234. Masking is idempotent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class PersonalKind(StrEnum):
    MOBILE = "mobile"
    LANDLINE = "landline"
    ID_NUMBER = "id_number"


@dataclass(frozen=True)
class Finding:
    kind: PersonalKind
    masked: str  # what the public sees in its place


@dataclass(frozen=True)
class FieldFinding:
    field: str  # body.description, body.items.3.title
    kind: PersonalKind
    masked: str

    @property
    def message(self) -> str:
        what = {
            PersonalKind.MOBILE: "a mobile number",
            PersonalKind.LANDLINE: "a landline number",
            PersonalKind.ID_NUMBER: "a resident ID number",
        }[self.kind]
        return f"{what} ({self.masked}) is shown masked on the public board and in events"


_ID = re.compile(
    r"(?<![0-9A-Za-z])"
    r"([1-9]\d{5})[ -]?((?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))[ -]?(\d{3}[0-9Xx])"
    r"(?![0-9A-Za-z])"
)
_MOBILE = re.compile(r"(?<![0-9])((?:\+|00)?86[ -]?)?(1[3-9]\d(?:[ -]?\d){8})(?![0-9])")
_LANDLINE = re.compile(r"(?<![0-9])(\(?0\d{2,3}\)?[ -]?)(\d{3,4}[ -]?\d{4})(?![0-9])")
_LOCAL = re.compile(
    r"((?:电话|座机|联系方式|联系|热线|tel|phone)[:：\s]*)(\d{3,4}[ -]?\d{4})(?![0-9])",
    re.IGNORECASE,
)


def _digits(s: str) -> str:
    return re.sub(r"[^0-9Xx]", "", s)


# What a match is: its kind, the text kept before the number (a word such as 电话) and the
# number masked; None when it is no personal data after all.
Hit = tuple[PersonalKind, str, str] | None
Rule = Callable[[re.Match[str]], Hit]


def _id(m: re.Match[str]) -> Hit:
    number = _digits(m.group(0))
    return PersonalKind.ID_NUMBER, "", number[:4] + "*" * 10 + number[-4:].upper()


def _mobile(m: re.Match[str]) -> Hit:
    number = _digits(m.group(2))
    return PersonalKind.MOBILE, "", (m.group(1) or "") + number[:3] + "****" + number[-4:]


def _local(local: str) -> str | None:
    number = _digits(local)
    return "*" * (len(number) - 4) + number[-4:] if len(number) in (7, 8) else None


def _landline(m: re.Match[str]) -> Hit:
    """An area code and a local number: the area code stays."""
    masked = _local(m.group(2))
    return (PersonalKind.LANDLINE, "", m.group(1) + masked) if masked else None


def _after_word(m: re.Match[str]) -> Hit:
    """A local number after a word such as 电话: the word stays, and is not the number."""
    masked = _local(m.group(2))
    return (PersonalKind.LANDLINE, m.group(1), masked) if masked else None


_RULES: tuple[tuple[re.Pattern[str], Rule], ...] = (
    (_ID, _id),  # first: an ID number holds digit runs the others would take
    (_MOBILE, _mobile),
    (_LANDLINE, _landline),
    (_LOCAL, _after_word),
)


def scan(text: str) -> tuple[str, list[Finding]]:
    """The text with every piece of personal data masked, and what was found (by kind)."""
    found: list[Finding] = []
    for pattern, rule in _RULES:

        def replace(m: re.Match[str], rule: Rule = rule) -> str:
            hit = rule(m)
            if hit is None:
                return m.group(0)
            kind, kept, masked = hit
            found.append(Finding(kind, masked))
            return kept + masked

        text = pattern.sub(replace, text)
    return text, found


def mask(text: str) -> str:
    """The text as the public sees it."""
    return scan(text)[0]


def scan_fields(
    values: Mapping[str, str], prefix: str = "body."
) -> tuple[dict[str, str], list[FieldFinding]]:
    """Each field's masked text, and every finding named by its field (`prefix` + name)."""
    masked: dict[str, str] = {}
    findings: list[FieldFinding] = []
    for name, text in values.items():
        masked[name], found = scan(text)
        findings.extend(FieldFinding(f"{prefix}{name}", f.kind, f.masked) for f in found)
    return masked, findings


__all__ = ["FieldFinding", "Finding", "PersonalKind", "mask", "scan", "scan_fields"]
