"""The closed vocabularies with the labels people read: zh-CN first, English second.

Services serve them as reference data (so a client need not learn a code from a 422), and
refusals of a bad code list the valid ones from here, in one format (`valid_codes`)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Final

from .enums import HongfanCategory, ItemKind, PartyKind, Role, UnitType, Visibility

Labels = dict[str, dict[str, str]]  # code -> {"zh-CN": ..., "en": ...}


def _labels(pairs: dict[StrEnum, tuple[str, str]]) -> Labels:
    return {code.value: {"zh-CN": zh, "en": en} for code, (zh, en) in pairs.items()}


CATEGORY_LABELS: Final = _labels(
    {
        HongfanCategory.NEIGHBOURHOOD_WATCH: ("邻里守望", "Neighbourhood watch"),
        HongfanCategory.HAPPY_COMPOUND: ("幸福小区", "Happy compound"),
        HongfanCategory.QUALITY_SERVICE: ("品质服务", "Quality service"),
        HongfanCategory.PEOPLES_WELFARE: ("惠民暖心", "People's welfare"),
        HongfanCategory.BUSINESS_SUPPORT: ("助企发展", "Business support"),
    }
)

ITEM_KIND_LABELS: Final = _labels(
    {
        ItemKind.TASK: ("实事", "Practical task"),
        ItemKind.SERVICE_PROJECT: ("服务项目", "Service project"),
        ItemKind.FUNDS: ("资金", "Funds"),
        ItemKind.VENUE: ("场地", "Venue"),
        ItemKind.VOLUNTEERS: ("志愿服务", "Volunteers"),
    }
)

UNIT_TYPE_LABELS: Final = _labels(
    {
        UnitType.GOVERNMENT_OFFICE: ("机关单位", "Government office"),
        UnitType.PUBLIC_INSTITUTION: ("事业单位", "Public institution"),
        UnitType.ENTERPRISE: ("企业", "Enterprise"),
        UnitType.SCHOOL: ("学校", "School"),
        UnitType.SOCIAL_ORGANISATION: ("社会组织", "Social organisation"),
    }
)

PARTY_KIND_LABELS: Final = _labels(
    {
        PartyKind.DISTRICT: ("区", "District"),
        PartyKind.STREET: ("街道", "Street"),
        PartyKind.COMMUNITY: ("社区", "Community"),
        PartyKind.GRID: ("网格", "Grid"),
        PartyKind.UNIT: ("共建单位", "Co-building unit"),
    }
)

ROLE_LABELS: Final = _labels(
    {
        Role.DISTRICT_ADMIN: ("区级管理员", "District administrator"),
        Role.STREET_ADMIN: ("街道管理员", "Street administrator"),
        Role.COMMUNITY_ADMIN: ("社区工作者", "Community worker"),
        Role.UNIT_ADMIN: ("共建单位管理员", "Unit administrator"),
        Role.MEMBER: ("在职党员", "In-service party member"),
        Role.EXPERT: ("评议专家", "Expert"),
        Role.OPERATOR: ("系统运维", "Operator"),
        Role.PERSON: ("已登录用户", "Signed-in person"),
        Role.SERVICE: ("系统对接", "Integration"),
    }
)

VISIBILITY_LABELS: Final = _labels(
    {
        Visibility.PUBLIC: ("公开", "Public"),
        Visibility.PAIRED_UNITS: ("仅结对单位可见", "Paired units only"),
        Visibility.PRIVATE: ("不公开", "Not published"),
    }
)


def valid_codes(codes: Iterable[object]) -> str:
    """The one way a refusal lists the valid codes: 'valid: a, b, c'."""
    return "valid: " + ", ".join(sorted(str(getattr(c, "value", c)) for c in codes))
