"""Closed vocabularies shared by the services (values are the wire form)."""

from __future__ import annotations

from enum import StrEnum


class PartyKind(StrEnum):
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"
    UNIT = "unit"


class UnitType(StrEnum):
    GOVERNMENT_OFFICE = "government_office"
    PUBLIC_INSTITUTION = "public_institution"
    ENTERPRISE = "enterprise"
    SCHOOL = "school"
    SOCIAL_ORGANISATION = "social_organisation"


class ItemKind(StrEnum):
    """Kinds of need, resource and commitment item.

    Micro-wishes are not here: they belong to the points service (``wish.*``).
    """

    TASK = "task"
    SERVICE_PROJECT = "service_project"
    FUNDS = "funds"
    VENUE = "venue"
    VOLUNTEERS = "volunteers"


class HongfanCategory(StrEnum):
    """The default category taxonomy (红帆). Category fields take any ``CategoryCode``."""

    NEIGHBOURHOOD_WATCH = "neighbourhood_watch"
    HAPPY_COMPOUND = "happy_compound"
    QUALITY_SERVICE = "quality_service"
    PEOPLES_WELFARE = "peoples_welfare"
    BUSINESS_SUPPORT = "business_support"


class Visibility(StrEnum):
    PUBLIC = "public"
    PAIRED_UNITS = "paired_units"
    PRIVATE = "private"


class Role(StrEnum):
    DISTRICT_ADMIN = "district_admin"
    STREET_ADMIN = "street_admin"
    COMMUNITY_ADMIN = "community_admin"
    UNIT_ADMIN = "unit_admin"
    MEMBER = "member"
    EXPERT = "expert"
    # Runs the system, not the loop: replays, rewinds, rebuilds, metrics (ARCHITECTURE.md).
    OPERATOR = "operator"
    # Signed in at the provider with no grant yet: self-service only (DESIGN §8).
    PERSON = "person"
    # An integration, through the provider's client-credentials grant and the exchange.
    SERVICE = "service"


class Grade(StrEnum):
    EXCELLENT = "excellent"
    GOOD = "good"
    PASS = "pass"
    FAIL = "fail"


class EvaluatorKind(StrEnum):
    RESIDENT = "resident"
    EXPERT = "expert"
    COMMUNITY = "community"


class SubjectKind(StrEnum):
    COMMITMENT = "commitment"
    AGREEMENT = "agreement"
    MEMBER = "member"
    UNIT = "unit"


class AgreementOrigin(StrEnum):
    NEGOTIATED = "negotiated"
    CLAIM = "claim"  # a unit's direct claim of a need: a small agreement, one commitment
    # A joint meeting's decision (研究确定事项): one commitment of the responsible unit to the
    # beneficiary community, signed by the meeting's authority (ARCHITECTURE.md, "Alliances
    # and the joint meeting").
    MEETING = "meeting"


class RotationMode(StrEnum):
    """How an alliance's chair (轮值主席) rotates: one unit per meeting, or per period."""

    PER_MEETING = "per_meeting"
    PER_PERIOD = "per_period"


__all__ = [
    "AgreementOrigin",
    "EvaluatorKind",
    "Grade",
    "HongfanCategory",
    "ItemKind",
    "PartyKind",
    "Role",
    "RotationMode",
    "SubjectKind",
    "UnitType",
    "Visibility",
]
