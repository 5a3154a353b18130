"""Who signed in: what the identity provider vouches for, and the port it answers through.

The provider is any OpenID Connect provider (Canaille embedded, Keycloak or another in
production); the service talks to it through `IdentityProvider`, so tests can put a fake
issuer or a stub behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import NAMESPACE_URL, UUID, uuid5


@dataclass(frozen=True)
class Identity:
    """A verified provider token: the subject (a person's `sub`, or an integration's client
    id), a display name when the provider gave one, and what makes one sign-in session
    (recorded once in the audit)."""

    subject: str
    display_name: str | None
    client: bool  # an integration's client-credentials token, not a person
    session: str  # the provider's session or token id (`sid`, `jti`, `auth_time`, `iat`)
    issuer: str


class IdentityProvider(Protocol):
    async def identify(self, token: str) -> Identity:
        """The identity behind a provider token; `Unauthorized` naming why it is refused."""
        ...


def person_party(subject: str) -> UUID:
    """The party of a `person` token: a stable id of the subject alone (no grant stands
    behind it), so a person's own data can be keyed before any grant exists."""
    return uuid5(NAMESPACE_URL, "cobuild:person:" + subject)
