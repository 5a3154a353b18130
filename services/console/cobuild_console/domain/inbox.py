"""What the phone pages show of a notification: a short tag for its kind (the catalogue's
words), and its link only where a member's phone has a page for it. The notifications service
links into the workbench (a task, an agreement, a need), which a member cannot open: those
items keep their title and body, which say what and when, without a link."""

from __future__ import annotations

from cobuild_console.domain.refusals import N_

# The kind of each notification, as a tag beside its title.
KIND_TAGS = {
    "reminder_due": N_("Due soon"),
    "overdue": N_("Past its deadline"),
    "done": N_("Awaiting confirmation"),
    "confirmed": N_("Confirmed done"),
    "refused": N_("Sent back"),
    "cancelled": N_("Called off"),
    "assigned": N_("Task assigned"),
    "proposal": N_("Draft agreement"),
    "signed": N_("Agreement signed"),
    "amended": N_("Agreement amended"),
    "match": N_("Match suggested"),
    "report_accepted": N_("Report accepted"),
    "report_declined": N_("Report declined"),
    "sign_up": N_("Activity sign-up"),
    "street": N_("New in my street"),
    "scored": N_("Assessment result"),
    "assessment": N_("Annual assessment"),
    "objection": N_("Objection answered"),
    "whistle": N_("Whistles (吹哨报到)"),
    "followed": N_("Something I follow"),
}
OTHER = N_("Notice")

# The kinds that ask something of the person (the tag is shown as a warning).
URGENT = frozenset({"reminder_due", "overdue", "done", "refused"})

# The paths a member's phone can open: its own pages and the public board.
PHONE_PATHS = ("/m/", "/board/")


def kind_tag(kind: str) -> str:
    return KIND_TAGS.get(kind, OTHER)


def phone_link(link: str) -> str:
    """The link as a phone page may show it: a path of the phone pages or the public board,
    or nothing (a workbench page, or anything that is not a path of this site)."""
    if not link or link.startswith("//") or "\\" in link:
        return ""
    return link if link.startswith(PHONE_PATHS) else ""
