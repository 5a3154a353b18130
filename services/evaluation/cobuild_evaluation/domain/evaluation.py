"""Evaluation rules: resident codes, expert scores and per-subject aggregates."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

SCORE_QUANTUM = Decimal("0.01")
UNKNOWN_ADDRESS = "unknown"  # what the kit names a client without an address
CODE_BYTES = 12  # 96 bits of randomness (more than the 64 asked for)


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def code_hash(code: str) -> str:
    """Only the hash is stored: a leaked table does not leak usable codes."""
    return hashlib.sha256(code.strip().encode()).hexdigest()


def codes_refused(issued: int, count: int, cap: int) -> str | None:
    """Why `count` more resident codes may not be issued for a commitment that has `issued`
    already under a bound of `cap` per commitment (its beneficiaries, or a fixed cap), or None."""
    if issued + count <= cap:
        return None
    left = max(cap - issued, 0)
    return (
        f"at most {cap} resident codes per commitment: {issued} issued already, "
        f"{left} more may be issued"
    )


@dataclass(frozen=True)
class Party:
    """Who stands behind a request: its client address, and its token's subject and party
    when it sent one."""

    address: str
    subject: str | None = None
    party_id: str | None = None


def self_redemption(issuer: Party, redeemer: Party) -> str | None:
    """Why a redemption counts as the issuing party's own (it is then kept, flagged, and left
    out of the means), or None: the same client address that issued the code, or a token of
    the issuing actor or party."""
    if redeemer.subject is not None and redeemer.subject == issuer.subject:
        return "redeemed with the issuing actor's token"
    if redeemer.party_id is not None and redeemer.party_id == issuer.party_id:
        return "redeemed with a token of the issuing party"
    if issuer.address not in ("", UNKNOWN_ADDRESS) and redeemer.address == issuer.address:
        return "redeemed from the address that issued the code"
    return None


def expert_score(marks: dict[str, int]) -> Decimal:
    """The mean of the criteria marks (each 0..100), to 2 places."""
    total = sum(Decimal(v) for v in marks.values())
    return (total / Decimal(len(marks))).quantize(SCORE_QUANTUM, ROUND_HALF_UP)


def bucket(rating: int | None, score: Decimal | None) -> str:
    """Distribution buckets: a resident's 1..5 rating, or a score's band of ten."""
    if rating is not None:
        return str(rating)
    assert score is not None
    low = min(int(score) // 10 * 10, 90)
    return f"{low:02d}-{low + 9 if low < 90 else 100}"


@dataclass(frozen=True)
class Aggregate:
    count: int
    mean: Decimal | None
    distribution: dict[str, int]

    def as_dict(self) -> dict[str, object]:
        return {
            "count": self.count,
            "mean": None if self.mean is None else format(self.mean, "f"),
            "distribution": dict(sorted(self.distribution.items())),
        }


def aggregate(buckets: list[tuple[str, int, Decimal]]) -> Aggregate:
    """(bucket, count, sum of values) rows folded into count, mean and distribution."""
    count = sum(n for _, n, _ in buckets)
    total = sum((t for _, _, t in buckets), Decimal(0))
    mean = (total / count).quantize(SCORE_QUANTUM, ROUND_HALF_UP) if count else None
    return Aggregate(count, mean, {b: n for b, n, _ in buckets})
