"""The negotiation of one agreement as a pure state machine.

    negotiating --propose/counter--> negotiating --both sign the latest version--> signed
    signed --amend--> amending --counter-amend--> amending --both sign--> signed (amended)
    signed | amending --terminate--> terminated

Every round is a new version; a signature counts only for the version it names, and only the
latest version can be signed. Nothing here does I/O: the store loads a `Negotiation`, a method
returns the next one plus what happened, and the use case persists and emits.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from cobuild_contracts import CommitmentItem
from cobuild_kit.errors import Conflict, Forbidden


class AgreementState(StrEnum):
    NEGOTIATING = "negotiating"
    SIGNED = "signed"
    AMENDING = "amending"
    TERMINATED = "terminated"


class SignOutcome(StrEnum):
    RECORDED = "recorded"  # one party signed; waiting for the other
    ALREADY_SIGNED = "already_signed"  # the same signature again: nothing changes
    SIGNED = "signed"  # both parties signed the first agreed version
    AMENDED = "amended"  # both parties signed an amendment


@dataclass(frozen=True)
class Round:
    """One version of the draft, as its proposer put it forward; every round is kept."""

    version: int
    round: str  # proposal, counter, amendment, claim or decision
    proposed_by: UUID
    counters_version: int | None  # the version it answers; None for a first proposal
    term_start: date
    term_end: date
    items: list[CommitmentItem]
    reason: str | None
    proposed_at: datetime


@dataclass(frozen=True)
class Negotiation:
    community_id: UUID
    unit_id: UUID
    state: AgreementState
    version: int  # the latest draft
    proposed_by: UUID  # who put the latest draft forward
    signed_version: int | None = None  # the version in force
    signers: frozenset[UUID] = field(default_factory=frozenset)  # of the latest version

    @property
    def parties(self) -> frozenset[UUID]:
        return frozenset({self.community_id, self.unit_id})

    @property
    def awaiting(self) -> frozenset[UUID]:
        """The parties whose signature the latest draft still lacks (none outside a draft)."""
        if self.state in (AgreementState.NEGOTIATING, AgreementState.AMENDING):
            return self.parties - self.signers
        return frozenset()

    @classmethod
    def open(cls, community_id: UUID, unit_id: UUID, proposed_by: UUID) -> Negotiation:
        """The first proposal (version 1) by one of the two parties."""
        if proposed_by not in (community_id, unit_id):
            raise Forbidden("only the community or the unit of an agreement may propose it")
        return cls(community_id, unit_id, AgreementState.NEGOTIATING, 1, proposed_by)

    @classmethod
    def claimed(cls, community_id: UUID, unit_id: UUID) -> Negotiation:
        """A direct claim: version 1, put forward and signed at once by the claiming unit."""
        return cls(
            community_id, unit_id, AgreementState.SIGNED, 1, unit_id, 1, frozenset({unit_id})
        )

    def _party(self, by: UUID) -> None:
        if by not in self.parties:
            raise Forbidden(f"party {by} is not a party to this agreement")

    def counter(self, by: UUID, counters_version: int) -> Negotiation:
        """The other side answers the latest draft with a new version."""
        self._party(by)
        if self.state is not AgreementState.NEGOTIATING:
            raise Conflict(f"the agreement is {self.state.value}; only a draft can be countered")
        self._answers_latest(counters_version)
        self._turn_of(by)
        return replace(self, version=self.version + 1, proposed_by=by, signers=frozenset())

    def amend(self, by: UUID, counters_version: int | None = None) -> Negotiation:
        """Propose an amendment to a signed agreement, or counter a pending one."""
        self._party(by)
        if self.state is AgreementState.SIGNED:
            pass
        elif self.state is AgreementState.AMENDING:
            if counters_version is not None:
                self._answers_latest(counters_version)
            self._turn_of(by)
        else:
            raise Conflict(f"the agreement is {self.state.value}; only a signed one is amended")
        return replace(
            self,
            state=AgreementState.AMENDING,
            version=self.version + 1,
            proposed_by=by,
            signers=frozenset(),
        )

    def sign(self, by: UUID, version: int) -> tuple[Negotiation, SignOutcome]:
        self._party(by)
        if self.state not in (AgreementState.NEGOTIATING, AgreementState.AMENDING):
            if self.state is AgreementState.SIGNED and version == self.signed_version:
                return self, SignOutcome.ALREADY_SIGNED
            raise Conflict(f"the agreement is {self.state.value}; there is no draft to sign")
        if version != self.version:
            raise Conflict(
                f"version {version} is not the current draft (version {self.version}); "
                "sign the current one"
            )
        if by in self.signers:
            return self, SignOutcome.ALREADY_SIGNED
        signers = self.signers | {by}
        if signers != self.parties:
            return replace(self, signers=signers), SignOutcome.RECORDED
        outcome = (
            SignOutcome.AMENDED if self.state is AgreementState.AMENDING else SignOutcome.SIGNED
        )
        done = replace(
            self, state=AgreementState.SIGNED, signed_version=version, signers=frozenset(signers)
        )
        return done, outcome

    def terminate(self, by: UUID) -> Negotiation:
        self._party(by)
        if self.state not in (AgreementState.SIGNED, AgreementState.AMENDING):
            raise Conflict(f"the agreement is {self.state.value}; only a signed one is terminated")
        return replace(self, state=AgreementState.TERMINATED)

    def _answers_latest(self, counters_version: int) -> None:
        if counters_version != self.version:
            raise Conflict(
                f"version {counters_version} is not the current draft (version {self.version})"
            )

    def _turn_of(self, by: UUID) -> None:
        if by == self.proposed_by:
            raise Conflict(
                f"version {self.version} is this party's own draft; it awaits the other party"
            )


__all__ = ["AgreementState", "Negotiation", "Round", "SignOutcome"]
