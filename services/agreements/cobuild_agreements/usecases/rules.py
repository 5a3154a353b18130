"""The domain's rules as this deployment sets them: business today and the known categories."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from cobuild_kit.clock import business_date

from cobuild_agreements.domain.drafts import DraftRules
from cobuild_agreements.domain.lists import ListRules
from cobuild_agreements.settings import AgreementsRuntime


def now_and_today(rt: AgreementsRuntime) -> tuple[datetime, date]:
    now = rt.clock.now()
    return now, business_date(now)


def list_rules(rt: AgreementsRuntime) -> ListRules:
    return ListRules(frozenset(rt.settings.categories), now_and_today(rt)[1])


def draft_rules(rt: AgreementsRuntime, community_id: UUID, unit_id: UUID) -> DraftRules:
    return DraftRules(
        frozenset({community_id, unit_id}), frozenset(rt.settings.categories), now_and_today(rt)[1]
    )
