"""Events of the access service, on ``access.events.v1``.

A grant is (subject, role, party): the subject is the identity provider's opaque subject id
(or an integration's client id), never a name, phone or address. Keyed by ``subject``, so one
person's grants and revocations stay in order for every consumer that follows who may do what
(the services' revocation lists, the notifications' recipients).
"""

from __future__ import annotations

from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import Field

from .. import topics
from ..base import Event, Reason, UtcDatetime
from ..enums import Role

# A provider's subject id, an integration's client id, or "cli:<user>" for a bootstrap: opaque.
Subject = Annotated[str, Field(min_length=1, max_length=255)]


class _AccessEvent(Event):
    TOPIC: ClassVar[str] = topics.ACCESS
    KEY_FIELD: ClassVar[str] = "subject"


class GrantAdded(_AccessEvent):
    """A subject may now act in ``role`` for ``party_id`` (a member's party is their member id,
    an expert's their expert id)."""

    EVENT_TYPE: ClassVar[str] = "grant.added"

    grant_id: UUID
    subject: Subject
    role: Role
    party_id: UUID
    granted_by: Subject
    granted_at: UtcDatetime


class GrantRevoked(_AccessEvent):
    """The grant is gone: every service refuses tokens exchanged for it (claim ``gid``)."""

    EVENT_TYPE: ClassVar[str] = "grant.revoked"

    grant_id: UUID
    subject: Subject
    role: Role
    party_id: UUID
    revoked_by: Subject
    revoked_at: UtcDatetime
    reason: Reason
