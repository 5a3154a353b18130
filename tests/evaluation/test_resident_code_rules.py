"""The pure rules behind resident codes: the bound per commitment, and what counts as the
issuing party redeeming its own code."""

from __future__ import annotations

from cobuild_evaluation.domain.evaluation import Party, codes_refused, self_redemption

ISSUER = Party("10.0.0.1", "community_admin:c1", "c1")


def test_codes_are_bounded_per_commitment() -> None:
    assert codes_refused(0, 50, 50) is None
    assert codes_refused(40, 10, 50) is None
    refused = codes_refused(40, 11, 50)
    assert refused is not None and "40 issued" in refused and "10 more" in refused
    assert "0 more" in (codes_refused(60, 1, 50) or "")  # a cap lowered later


def test_a_self_redemption_is_told_by_address_or_token() -> None:
    assert self_redemption(ISSUER, Party("10.0.0.2")) is None
    assert "address" in (self_redemption(ISSUER, Party("10.0.0.1")) or "")
    assert "actor" in (self_redemption(ISSUER, Party("10.0.0.2", "community_admin:c1")) or "")
    assert "party" in (self_redemption(ISSUER, Party("10.0.0.2", "other", "c1")) or "")
    assert self_redemption(ISSUER, Party("10.0.0.2", "resident", "c9")) is None
    # a client whose address is unknown is not everyone else whose address is unknown
    assert self_redemption(Party("unknown", "a", "p"), Party("unknown")) is None
