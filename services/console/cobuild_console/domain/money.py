"""Money on the pages: entered and shown in yuan with two decimals, carried in integer fen
(ARCHITECTURE.md, "Money, points and rates"). Never a float."""

from __future__ import annotations

import re
from decimal import Decimal

from cobuild_console.domain.refusals import N_

# What a person types: digits, an optional point and at most two decimals; thousands
# separators (, or the full-width ，) and a leading ¥ are tolerated.
_YUAN = re.compile(r"^(\d{1,13})(?:\.(\d{0,2}))?$")
MAX_FEN = 10**15  # the contracts' bound: far above any co-building fund


class MoneyInputError(ValueError):
    """The text is not an amount in yuan; `reason` is an English message id to translate."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


NOT_A_NUMBER = N_("Enter an amount in yuan, such as 1200 or 1200.50.")
TOO_MANY_DECIMALS = N_("Yuan take at most two decimals (fen).")
NEGATIVE = N_("The amount cannot be negative.")
TOO_LARGE = N_("The amount is too large.")


def fen_from_yuan(text: str) -> int:
    """ "1,234.5" → 123450. Empty text is 0 yuan."""
    cleaned = text.strip().replace(",", "").replace("，", "").replace(" ", "")
    cleaned = cleaned.removeprefix("¥").removeprefix("￥")
    if not cleaned:
        return 0
    if cleaned.startswith("-"):
        raise MoneyInputError(NEGATIVE)
    if re.fullmatch(r"\d+\.\d{3,}", cleaned):
        raise MoneyInputError(TOO_MANY_DECIMALS)
    match = _YUAN.fullmatch(cleaned)
    if match is None:
        raise MoneyInputError(
            TOO_LARGE if re.fullmatch(r"\d{14,}(\.\d*)?", cleaned) else NOT_A_NUMBER
        )
    whole, decimals = match.group(1), (match.group(2) or "").ljust(2, "0")
    fen = int(whole) * 100 + int(decimals)
    if fen > MAX_FEN:
        raise MoneyInputError(TOO_LARGE)
    return fen


def yuan(fen: int) -> Decimal:
    """123450 → Decimal('1234.50'), exact."""
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def yuan_input(fen: int) -> str:
    """The value a form field shows for an amount: '1234.50' (no separators, so it posts back)."""
    return format(yuan(fen), "f")
