"""The service's closed vocabularies: served as reference data (GET /reference), and checked in
input so that a bad code is refused with the valid ones listed, in the one format of
`cobuild_contracts.reference.valid_codes`.

Categories are this deployment's (settings); the other vocabularies are the contracts' enums.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Annotated, Any

from cobuild_contracts import ItemKind, PartyKind, Role, UnitType, Visibility
from cobuild_contracts.reference import (
    CATEGORY_LABELS,
    ITEM_KIND_LABELS,
    PARTY_KIND_LABELS,
    ROLE_LABELS,
    UNIT_TYPE_LABELS,
    VISIBILITY_LABELS,
    Labels,
    valid_codes,
)
from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from cobuild_agreements.domain.lists import CATEGORY
from cobuild_agreements.settings import AgreementsSettings

Vocabulary = list[tuple[str, dict[str, str]]]  # (code, {"zh-CN": ..., "en": ...}) in order


def _known(codes: type[StrEnum], what: str) -> Callable[[Any], Any]:
    """A check run before the enum's own: pydantic's enum message lists the codes in its own
    words, and the API lists them one way everywhere (naming the field, as every 422 does)."""
    allowed = {c.value for c in codes}
    valid = valid_codes(codes)

    def check(value: Any) -> Any:
        if isinstance(value, str) and value not in allowed:
            # The code goes in as context: a template would read braces in it as placeholders.
            raise PydanticCustomError(
                "unknown_code", f"unknown {what} '{{code}}'; {valid}", {"code": value}
            )
        return value

    return check


ItemKindCode = Annotated[ItemKind, BeforeValidator(_known(ItemKind, "kind"))]
UnitTypeCode = Annotated[UnitType, BeforeValidator(_known(UnitType, "unit type"))]
PartyKindCode = Annotated[PartyKind, BeforeValidator(_known(PartyKind, "party kind"))]
VisibilityCode = Annotated[Visibility, BeforeValidator(_known(Visibility, "visibility"))]
# A category's shape is documented, not enforced here: the deployment's list is the rule, and
# its refusal lists the valid codes (ListRules, DraftRules), which a pattern's refusal cannot.
CategoryIn = Annotated[
    str, Field(min_length=1, max_length=40, json_schema_extra={"pattern": CATEGORY})
]


def _vocabulary(codes: Iterable[StrEnum], labels: Labels) -> Vocabulary:
    return [(c.value, labels[c.value]) for c in codes]


def categories(settings: AgreementsSettings) -> Vocabulary:
    """The categories this deployment accepts, in its order; one it added without a label in
    the contracts is labelled with its code (better than no label at all)."""
    return [
        (code, CATEGORY_LABELS.get(code, {"zh-CN": code, "en": code}))
        for code in settings.categories
    ]


def vocabularies(settings: AgreementsSettings) -> dict[str, Vocabulary]:
    """Every vocabulary a client of this service sends or reads."""
    kinds = _vocabulary(ItemKind, ITEM_KIND_LABELS)
    return {
        "categories": categories(settings),
        "need_kinds": kinds,  # a need and a resource take the same kinds of item
        "resource_kinds": kinds,
        "unit_types": _vocabulary(UnitType, UNIT_TYPE_LABELS),
        "party_kinds": _vocabulary(PartyKind, PARTY_KIND_LABELS),
        "roles": _vocabulary(Role, ROLE_LABELS),
        "visibility": _vocabulary(Visibility, VISIBILITY_LABELS),
    }
