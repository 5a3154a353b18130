"""The community's volunteer activities (志愿活动): publishing one, its sign-ups, closing it
with attendance confirmed in bulk (points follow), and the check-in QR code shown on site."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import segno
from cobuild_kit.clock import BUSINESS_TZ

from cobuild_console.runtime import ConsoleRuntime

# The phone check-in page (http/phone_member.py) answers here: the QR code carries the
# activity and the points service's signed, expiring check-in token (not the bare code).
CHECK_IN_PATH = "/m/checkin"


async def of_community(rt: ConsoleRuntime, token: str, community_id: str) -> list[dict[str, Any]]:
    found = await rt.services.every("points", f"/communities/{community_id}/activities", token)
    return sorted(found, key=lambda a: str(a["starts_at"]), reverse=True)


async def one(
    rt: ConsoleRuntime, token: str, community_id: str, activity_id: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The activity (None: not this community's) and its sign-ups. The roster is read with
    the worker's token: another community's activity answers 404."""
    listed, roster = await asyncio.gather(
        of_community(rt, token, community_id),
        rt.services.every("points", f"/activities/{activity_id}/sign-ups", token),
    )
    found = next((a for a in listed if str(a["activity_id"]) == activity_id), None)
    return found, roster


def starts_and_ends(day: date, start: time, end: time) -> tuple[str, str]:
    """A day and two wall-clock times in Shanghai, as the service's UTC timestamps."""
    return (
        datetime.combine(day, start, BUSINESS_TZ).isoformat(),
        datetime.combine(day, end, BUSINESS_TZ).isoformat(),
    )


def window_hours(activity: dict[str, Any]) -> Decimal:
    span = datetime.fromisoformat(str(activity["ends_at"])) - datetime.fromisoformat(
        str(activity["starts_at"])
    )
    return (Decimal(int(span.total_seconds())) / 3600).quantize(Decimal("0.01"))


async def publish(rt: ConsoleRuntime, token: str, body: dict[str, Any], key: str) -> dict[str, Any]:
    answer: dict[str, Any] = await rt.services.post(
        "points", "/activities", token, body, idempotency_key=key
    )
    return answer


async def confirm_attendance(
    rt: ConsoleRuntime, token: str, activity_id: str, hours: dict[str, str], key: str
) -> dict[str, Any]:
    body = {"attendance": [{"member_id": m, "hours": h} for m, h in hours.items()]}
    answer: dict[str, Any] = await rt.services.post(
        "points", f"/activities/{activity_id}/attendances/bulk", token, body, idempotency_key=key
    )
    return answer


async def check_in_code(rt: ConsoleRuntime, token: str, activity_id: str) -> str:
    answer = await rt.services.get("points", f"/activities/{activity_id}/check-in-code", token)
    return str(answer["code"])


async def check_in_token(rt: ConsoleRuntime, token: str, activity_id: str) -> str:
    """The token the points service signs with the activity and its window."""
    answer = await rt.services.get("points", f"/activities/{activity_id}/check-in-token", token)
    return str(answer["token"])


def check_in_url(base_url: str, activity_id: str, check_in_token: str) -> str:
    """What the QR code opens: the configured public URL, never the bind address (a phone
    cannot reach 127.0.0.1)."""
    query = urlencode({"activity": activity_id, "token": check_in_token})
    return f"{base_url}{CHECK_IN_PATH}?{query}"


def qr_svg(url: str) -> str:
    """The QR code as inline SVG, dark on white, with a quiet zone; scales to the screen."""
    svg: str = segno.make(url, error="m").svg_inline(scale=10, border=4, omitsize=True)
    return svg
