"""Pure rules: an invitation's life (open, accepted once, withdrawn, expired), and the
signing keys' rotation (published ahead, signing in turn, dropped once their tokens expired)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cobuild_access.domain import keys
from cobuild_access.domain.invitations import (
    InvitationFacts,
    InvitationState,
    require_open,
    state,
    token_hash,
)
from cobuild_kit.errors import Conflict, Gone

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
EXPIRES = T0 + timedelta(hours=72)


def facts(**changes: datetime | None) -> InvitationFacts:
    base: dict[str, datetime | None] = {"accepted_at": None, "withdrawn_at": None}
    base.update(changes)
    return InvitationFacts(EXPIRES, base["accepted_at"], base["withdrawn_at"])


def test_open_until_its_expiry() -> None:
    assert state(facts(), T0) is InvitationState.OPEN
    assert state(facts(), EXPIRES - timedelta(seconds=1)) is InvitationState.OPEN
    assert state(facts(), EXPIRES) is InvitationState.EXPIRED
    require_open(facts(), T0)


def test_used_once_then_a_conflict() -> None:
    used = facts(accepted_at=T0 + timedelta(hours=1))
    assert state(used, T0 + timedelta(hours=2)) is InvitationState.ACCEPTED
    with pytest.raises(Conflict, match="already been used"):
        require_open(used, T0 + timedelta(hours=2))
    # Used stays used after the expiry too: the conflict, not the expiry, is the answer.
    with pytest.raises(Conflict):
        require_open(used, EXPIRES + timedelta(days=1))


def test_expired_or_withdrawn_is_gone() -> None:
    with pytest.raises(Gone, match="expired at"):
        require_open(facts(), EXPIRES)
    with pytest.raises(Gone, match="withdrawn"):
        require_open(facts(withdrawn_at=T0), T0 + timedelta(minutes=1))


def test_only_a_hash_of_the_token_is_kept() -> None:
    assert token_hash("abc") == token_hash("abc")
    assert token_hash("abc") != token_hash("abd")
    assert b"abc" not in token_hash("abc") and len(token_hash("abc")) == 32


LIFE = timedelta(minutes=16)  # a token's 15 minutes and the clock skew
ROTATE = timedelta(days=7)
AHEAD = timedelta(minutes=1)


def test_the_first_key_signs_at_once() -> None:
    assert keys.next_key_due([], T0, ROTATE, AHEAD) == T0
    k1 = keys.KeyTimes("k1", T0)
    assert keys.signing([k1], T0) == k1
    assert keys.next_key_due([k1], T0 + timedelta(days=1), ROTATE, AHEAD) is None


def test_a_new_key_is_published_ahead_then_signs_then_the_old_one_drops() -> None:
    k1 = keys.KeyTimes("k1", T0)
    due_at = T0 + ROTATE
    before = due_at - AHEAD - timedelta(seconds=1)
    assert keys.next_key_due([k1], before, ROTATE, AHEAD) is None
    starts = keys.next_key_due([k1], due_at - AHEAD, ROTATE, AHEAD)
    assert starts == due_at
    k2 = keys.KeyTimes("k2", due_at)
    ring = [k1, k2]
    # Published ahead: in the JWKS, not signing yet; nothing more is made meanwhile.
    now = due_at - timedelta(seconds=30)
    assert keys.signing(ring, now) == k1
    assert [k.kid for k in keys.published(ring, now, LIFE)] == ["k1", "k2"]
    assert keys.next_key_due(ring, now, ROTATE, AHEAD) is None
    # Signing: the old key stays published while its tokens may be alive.
    assert keys.signing(ring, due_at) == k2
    assert [k.kid for k in keys.published(ring, due_at + LIFE - timedelta(seconds=1), LIFE)] == [
        "k1",
        "k2",
    ]
    assert keys.dropped(ring, due_at + LIFE - timedelta(seconds=1), LIFE) == []
    # Then it drops out.
    assert keys.dropped(ring, due_at + LIFE, LIFE) == [k1]
    assert [k.kid for k in keys.published(ring, due_at + LIFE, LIFE)] == ["k2"]


def test_a_service_down_past_the_rotation_publishes_ahead_before_signing() -> None:
    k1 = keys.KeyTimes("k1", T0)
    late = T0 + ROTATE + timedelta(days=3)
    assert keys.next_key_due([k1], late, ROTATE, AHEAD) == late + AHEAD
