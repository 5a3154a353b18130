"""What the access service holds beside the kit's runtime: its key ring, the identity
provider behind the exchange, the mailer and the wall clock. They ride on the service definition, so the
use cases reach them from the runtime (`parts_of(rt)`), and tests put fakes in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from cobuild_kit.service import Runtime, ServiceDefinition

from cobuild_access.adapters.mail import Mailer
from cobuild_access.adapters.signing import KeyRing
from cobuild_access.domain.identity import IdentityProvider
from cobuild_access.settings import AccessSettings


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Parts:
    keys: KeyRing
    provider: IdentityProvider
    mailer: Mailer
    # The wall clock (invitations' expiry); tests move it.
    wall: Callable[[], datetime] = wall_clock


@dataclass
class AccessDefinition(ServiceDefinition[AccessSettings]):
    parts: Parts | None = None


def parts_of(rt: Runtime[AccessSettings]) -> Parts:
    definition = rt.definition
    if not isinstance(definition, AccessDefinition) or definition.parts is None:
        raise RuntimeError("the access service runs from cobuild_access.app.definition()")
    return definition.parts
