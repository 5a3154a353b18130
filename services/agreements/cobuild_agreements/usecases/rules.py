"""The domain's rules as this deployment sets them: business today and the known categories."""

from __future__ import annotations

from datetime import date, datetime
from typing import cast
from uuid import UUID

from cobuild_kit.clock import business_date
from cobuild_kit.service import Runtime

from cobuild_agreements.domain.drafts import DraftRules
from cobuild_agreements.domain.lists import ListRules
from cobuild_agreements.settings import AgreementsSettings


def settings(rt: Runtime) -> AgreementsSettings:
    return cast(AgreementsSettings, rt.settings)


def now_and_today(rt: Runtime) -> tuple[datetime, date]:
    now = rt.clock.now()
    return now, business_date(now)


def list_rules(rt: Runtime) -> ListRules:
    return ListRules(frozenset(settings(rt).categories), now_and_today(rt)[1])


def draft_rules(rt: Runtime, community_id: UUID, unit_id: UUID) -> DraftRules:
    return DraftRules(
        frozenset({community_id, unit_id}), frozenset(settings(rt).categories), now_and_today(rt)[1]
    )
