"""Response shapes shared by the access service's routers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import asyncpg
from cobuild_contracts import Role
from pydantic import BaseModel, ConfigDict, Field

# A provider's subject id, an integration's client id: opaque text.
Subject = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^\s\x00-\x1f]+$")]
Reason = Annotated[str, Field(min_length=1, max_length=500)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GrantOut(BaseModel):
    grant_id: UUID
    subject: str
    display_name: str | None = Field(description="as the identity provider last gave it")
    role: Role
    party_id: UUID
    party_name: str | None = Field(description="from the parties directory (none for a member)")
    party_kind: str | None
    granted_by: str
    granted_at: datetime
    origin: str = Field(
        description="delegated | bootstrap | invitation | member_report | expert_directory"
    )
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None


def grant_out(row: asyncpg.Record) -> GrantOut:
    return GrantOut(
        grant_id=row["grant_id"],
        subject=row["subject"],
        display_name=row["display_name"],
        role=Role(row["role"]),
        party_id=row["party_id"],
        party_name=row["party_name"],
        party_kind=row["party_kind"],
        granted_by=row["granted_by"],
        granted_at=row["granted_at"],
        origin=row["origin"],
        revoked_at=row["revoked_at"],
        revoked_by=row["revoked_by"],
        revoke_reason=row["revoke_reason"],
    )
