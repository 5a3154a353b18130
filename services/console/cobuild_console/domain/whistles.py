"""吹哨报到 as the workbench shows it: the categories a community or street raises a matter
under (the codes the district's routing table sends to departments, and the rest, which go to
the level above), the states, and the time a receiver has left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cobuild_console.domain.refusals import N_

CATEGORIES = {
    "municipal_facilities": N_("Municipal facilities (street lights, manholes, pavements)"),
    "environment": N_("Environment and sanitation"),
    "housing_repair": N_("Housing repairs (roofs, walls, lifts)"),
    "public_safety": N_("Public safety and fire"),
    "elderly_care": N_("Care for the elderly"),
    "neighbour_disputes": N_("Neighbour disputes"),
}
URGENCIES = {"normal": N_("Normal"), "urgent": N_("Urgent")}
STATES = {
    "routed": N_("Waiting for a response"),
    "responded": N_("Being handled"),
    "resolved": N_("Resolved, awaiting confirmation"),
    "closed": N_("Closed"),
}
EVENTS = {
    "whistle.raised": N_("Raised"),
    "whistle.routed": N_("Sent to the one in charge"),
    "whistle.handed_on": N_("Handed on"),
    "whistle.responded": N_("Responded (报到)"),
    "whistle.escalated": N_("A limit was missed: raised a level"),
    "whistle.resolved": N_("Reported resolved"),
    "whistle.reopened": N_("Reopened"),
    "whistle.closed": N_("Confirmed and closed"),
    "whistle.rated": N_("Rated by a resident"),
}
# Who may raise (a community's or a street's admin) and who has a queue to work through.
RAISERS = frozenset({"community_admin", "street_admin"})
SUPERVISORS = frozenset({"street_admin", "district_admin"})


@dataclass(frozen=True)
class TimeLeft:
    """Until the limit the receiver works against now: whole hours, or late by them."""

    hours: int
    late: bool

    @property
    def days(self) -> int:
        return self.hours // 24


def time_left(due: datetime | None, now: datetime) -> TimeLeft | None:
    if due is None:
        return None
    seconds = (due - now).total_seconds()
    return TimeLeft(int(abs(seconds) // 3600), seconds < 0)
