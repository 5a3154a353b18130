"""Names of codes the services answer with, as the pages show them (catalogue messages)."""

from __future__ import annotations

from cobuild_console import i18n
from cobuild_console.domain.refusals import N_

ROLES = {
    "district_admin": N_("District administrator"),
    "street_admin": N_("Street administrator"),
    "community_admin": N_("Community worker"),
    "unit_admin": N_("Unit administrator"),
    "member": N_("In-service party member"),
    "expert": N_("Expert"),
    "operator": N_("Operator"),
    "person": N_("Signed-in person"),
    "service": N_("Integration"),
}

COMMITMENT_STATUS = {
    "opened": N_("Not yet claimed"),
    "claimed": N_("Claimed"),
    "in_progress": N_("In progress"),
    "done_pending_confirmation": N_("Done, awaiting confirmation"),
    "fulfilled": N_("Fulfilled"),
    "cancelled": N_("Cancelled"),
}

NEED_STATUS = {
    "published": N_("Published"),
    "withdrawn": N_("Withdrawn"),
    "claimed": N_("Claimed"),
}

RESOURCE_STATUS = {
    "offered": N_("Offered"),
    "withdrawn": N_("Withdrawn"),
}

RESOURCE_EVENTS = {
    "resource.offered": N_("offered"),
    "resource.withdrawn": N_("withdrawn"),
}

AGREEMENT_STATE = {
    "negotiating": N_("Negotiating"),
    "signed": N_("Signed"),
    "amending": N_("Amendment under negotiation"),
    "terminated": N_("Terminated"),
}

HISTORY_EVENTS = {
    "commitment.opened": N_("Commitment opened"),
    "task.claimed": N_("Task claimed"),
    "task.assigned": N_("Members assigned"),
    "commitment.progressed": N_("Progress reported"),
    "evidence.submitted": N_("Evidence uploaded"),
    "commitment.marked_done": N_("Marked done"),
    "commitment.fulfilled": N_("Fulfilment confirmed"),
    "commitment.confirmation_refused": N_("Confirmation refused"),
    "commitment.overdue": N_("Became overdue"),
    "commitment.cancelled": N_("Cancelled"),
    "commitment.reminder_due": N_("Deadline reminder"),
}


def _label(table: dict[str, str], code: str) -> str:
    return i18n.gettext(table[code]) if code in table else code


def role_label(code: str) -> str:
    return _label(ROLES, code)


def commitment_status(code: str) -> str:
    return _label(COMMITMENT_STATUS, code)


def need_status(code: str) -> str:
    return _label(NEED_STATUS, code)


def resource_status(code: str) -> str:
    return _label(RESOURCE_STATUS, code)


def resource_event(code: str) -> str:
    return _label(RESOURCE_EVENTS, code)


def agreement_state(code: str) -> str:
    return _label(AGREEMENT_STATE, code)


def history_event(code: str) -> str:
    return _label(HISTORY_EVENTS, code)


def template_globals() -> dict[str, object]:
    return {
        "role_label": role_label,
        "commitment_status": commitment_status,
        "need_status": need_status,
        "agreement_state": agreement_state,
        "resource_status": resource_status,
        "resource_event": resource_event,
        "history_event": history_event,
    }
