"""A resident's rating (群众评) from a phone, with no account: the community prints a QR code
per one-time code of a fulfilled commitment; the link shows what was promised and done (the
commitments service's public part, no personal data) and takes one rating. These calls carry
no token; the browser's address is forwarded, so the evaluation service's per-address bound
counts residents, not the console."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import segno

from cobuild_console.gateways.services import ServiceRefusal, ServiceUnavailable, forwarded
from cobuild_console.runtime import ConsoleRuntime

RATE_PATH = "/m/rate"


async def public_call(
    rt: ConsoleRuntime,
    service: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A service's public endpoint, with no token, asking for JSON (the evaluation service's
    board answers HTML otherwise); the browser's address forwarded."""
    try:
        response = await rt.http.request(
            method,
            rt.settings.service_urls[service].rstrip("/") + path,
            json=body,
            params={k: v for k, v in (params or {}).items() if v is not None},
            headers=forwarded({"Accept": "application/json"}),
        )
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(service, type(exc).__name__) from exc
    if response.status_code >= 500:
        raise ServiceUnavailable(service, f"HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        answer = {"error": "error", "message": response.text[:200]}
    if response.status_code >= 400:
        raise ServiceRefusal(
            service, response.status_code, answer if isinstance(answer, dict) else {}
        )
    return answer if isinstance(answer, dict) else {}


@dataclass(frozen=True)
class Card:
    """What the resident's link leads to: the code's state and the commitment's public part
    (None while the code is not open: there is nothing to rate)."""

    state: str
    commitment: dict[str, Any] | None


async def card(rt: ConsoleRuntime, code: str) -> Card:
    found = await public_call(rt, "evaluation", "GET", f"/public/resident-codes/{code}")
    if found["state"] != "open":
        return Card(str(found["state"]), None)
    commitment = await public_call(
        rt, "commitments", "GET", f"/public/commitments/{found['commitment_id']}"
    )
    return Card("open", commitment)


async def public_commitment(rt: ConsoleRuntime, commitment_id: str) -> dict[str, Any]:
    """What was promised and done (a fulfilled commitment; 404 otherwise)."""
    return await public_call(rt, "commitments", "GET", f"/public/commitments/{commitment_id}")


async def rate(rt: ConsoleRuntime, code: str, rating: int, comment: str) -> dict[str, Any]:
    return await public_call(
        rt,
        "evaluation",
        "POST",
        "/public/resident-evaluations",
        {"code": code, "rating": rating, "comment": comment},
    )


@dataclass(frozen=True)
class PrintedCode:
    url: str
    svg: str


async def issue_codes(
    rt: ConsoleRuntime, token: str, commitment_id: str, count: int
) -> tuple[dict[str, Any], list[PrintedCode]]:
    """One-time codes for a fulfilled commitment, each as the QR code of its rating link on
    the configured public URL. The codes are shown once: the service keeps only hashes."""
    # The commitment first: one not the community's is not found, and no code is issued.
    commitment = await rt.services.get("commitments", f"/commitments/{commitment_id}", token)
    issued = await rt.services.post(
        "evaluation", f"/commitments/{commitment_id}/resident-codes", token, {"count": count}
    )
    base = rt.settings.base_url
    printed = []
    for code in issued["codes"]:
        url = f"{base}{RATE_PATH}/{code}"
        svg: str = segno.make(url, error="m").svg_inline(scale=6, border=4, omitsize=True)
        printed.append(PrintedCode(url, svg))
    return {**commitment, "expires_at": issued["expires_at"]}, printed
