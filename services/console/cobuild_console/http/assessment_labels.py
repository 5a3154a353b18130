"""What the assessment's pages call grades, states and inputs (the workbench's 年度考评 and
the member's objection page share them)."""

from __future__ import annotations

from typing import Any

from cobuild_console import i18n
from cobuild_console.domain.assessment import GRADES, percent
from cobuild_console.domain.refusals import N_

GRADE_NAMES = {
    "excellent": N_("Excellent"),
    "good": N_("Good"),
    "pass": N_("Pass"),
    "fail": N_("Fail"),
}
STATE_NAMES = {"publicised": N_("Open for objections (公示中)"), "final": N_("Final")}
OBJECTION_STATES = {
    "open": N_("Waiting for the district's decision"),
    "upheld": N_("Upheld"),
    "rejected": N_("Rejected"),
}
# The inputs an upheld objection may correct, by subject kind (the evaluation service's).
INPUTS = {
    "member": {"points": N_("Points total"), "community_rating": N_("Community rating (0–100)")},
    "unit": {
        "fulfilment_rate": N_("Fulfilment rate (0–1)"),
        "on_time_rate": N_("On-time rate (0–1)"),
        "resident_mean": N_("Residents' rating (1–5)"),
        "expert_mean": N_("Experts' score (0–100)"),
    },
}
COMPONENT_NAMES = {
    "points": N_("Points"),
    "community_rating": N_("Community rating"),
    "fulfilment_rate": N_("Fulfilment rate"),
    "on_time_rate": N_("On-time rate"),
    "resident_mean": N_("Residents' rating"),
    "expert_mean": N_("Experts' score"),
    "member_pass_share": N_("Members passing"),
    "whistle_response_rate": N_("Whistles answered in time"),
    "whistle_completion_rate": N_("Whistles resolved in time"),
    "whistle_satisfaction_rate": N_("Whistle satisfaction"),
}


def _named(table: dict[str, str], code: str | None) -> str:
    return i18n.gettext(table[code]) if code in table else (code or "")


def grade_name(code: str | None) -> str:
    return _named(GRADE_NAMES, code)


def objection_state(code: str | None) -> str:
    return _named(OBJECTION_STATES, code)


def labels() -> dict[str, Any]:
    return {
        "grade_name": grade_name,
        "state_name": lambda code: _named(STATE_NAMES, code),
        "objection_state": objection_state,
        "component_name": lambda code: _named(COMPONENT_NAMES, code),
        "percent": percent,
        "grades": GRADES,
        "input_names": {
            kind: {k: i18n.gettext(v) for k, v in inputs.items()} for kind, inputs in INPUTS.items()
        },
    }
