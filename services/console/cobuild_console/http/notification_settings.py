"""通知设置: how the person wants to hear (channels per kind, how often, quiet hours) and the
addresses they give for it, which the notifications service keeps and no one else."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.domain.refusals import N_
from cobuild_console.gateways.services import ServiceRefusal, ServiceUnavailable
from cobuild_console.http.web import ActingDep, redirect, render
from cobuild_console.usecases import notification_settings as settings

router = APIRouter()

KIND_LABELS = {
    "reminder_due": N_("A deadline is near"),
    "overdue": N_("A commitment is overdue"),
    "done": N_("Work done, awaiting my confirmation"),
    "confirmed": N_("Work confirmed done"),
    "refused": N_("Work not confirmed"),
    "cancelled": N_("A commitment cancelled"),
    "assigned": N_("Assigned to a task"),
    "proposal": N_("A draft agreement to answer"),
    "signed": N_("An agreement signed"),
    "amended": N_("An agreement amended"),
    "match": N_("A match suggested"),
    "report_accepted": N_("A report to the community accepted"),
    "report_declined": N_("A report to the community declined"),
    "sign_up": N_("An activity sign-up confirmed, cancelled or attended"),
    "street": N_("New needs and resources in my street (digest)"),
    "scored": N_("An assessment result"),
    "assessment": N_("The annual assessment published"),
    "objection": N_("An objection decided"),
    "whistle": N_("Whistles (吹哨报到)"),
    "followed": N_("Something I follow changed"),
}
FREQUENCIES = (
    ("realtime", N_("At once")),
    ("daily", N_("One digest a day (08:00)")),
    ("weekly", N_("One digest a week (Monday 08:00)")),
    ("none", N_("Only in the workbench's inbox")),
)
FIELDS = ("email", "phone", "language", "frequency", "quiet_start", "quiet_end")


def _page(request: Request, prefs: dict[str, Any], errors: dict[str, str]) -> Response:
    return render(
        request, "inbox/settings.html", prefs=prefs, errors=errors, kinds=settings.KINDS,
        kind_labels={k: i18n.gettext(v) for k, v in KIND_LABELS.items()},
        frequencies=[(code, i18n.gettext(label)) for code, label in FREQUENCIES],
        channels=settings.OUTSIDE, status=422 if errors else 200,
    )  # fmt: skip


@router.get("/settings/notifications")
async def show(request: Request, who: ActingDep) -> Response:
    try:
        prefs = await settings.read(who.rt, await who.token())
    except ServiceUnavailable:
        who.session.say("error", i18n.gettext("The notifications service did not answer."))
        return redirect("/inbox")
    return _page(request, prefs, {})


@router.post("/settings/notifications")
async def save(request: Request, who: ActingDep) -> Response:
    form = await request.form()
    text = {f: str(form.get(f) or "").strip() for f in FIELDS}
    body: dict[str, Any] = {
        "language": text["language"] or "zh-CN",
        "email": text["email"] or None,
        "phone": text["phone"] or None,
        "frequency": text["frequency"] or "realtime",
        "quiet_start": text["quiet_start"] or None,
        "quiet_end": text["quiet_end"] or None,
        "channels": {
            kind: ["inbox", *(c for c in settings.OUTSIDE if form.get(f"{kind}.{c}"))]
            for kind in settings.KINDS
        },
    }
    try:
        await settings.save(who.rt, await who.token(), body)
    except ServiceRefusal as refused:
        field = str(refused.body.get("field") or "").removeprefix("body.").split(".")[0]
        message = {
            "email": i18n.gettext("Enter an e-mail address such as name@example.org."),
            "phone": i18n.gettext("Enter a mobile number of digits only, such as 13800138000."),
            "quiet_start": i18n.gettext("Quiet hours need a start and an end."),
            "quiet_end": i18n.gettext("Quiet hours need a start and an end."),
        }.get(field, i18n.gettext("Please check what was entered."))
        return _page(request, body, {field or "general": message})
    who.session.say("info", i18n.gettext("Your notification settings are saved."))
    return redirect("/settings/notifications")
