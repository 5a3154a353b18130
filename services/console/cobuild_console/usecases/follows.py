"""Following a need, an agreement or a commitment: its changes then reach the person's
notifications. The notifications service keeps who follows what (by the token's subject);
a deployment without it shows no follow button."""

from __future__ import annotations

from cobuild_console.gateways.services import ServiceRefusal, ServiceUnavailable
from cobuild_console.runtime import ConsoleRuntime

SERVICE = "notifications"
KINDS = ("need", "agreement", "commitment")
# A page waits this long for the button's state, then shows the page without the button.
STATE_TIMEOUT_S = 2.0


async def state(rt: ConsoleRuntime, token: str, kind: str, target_id: str) -> bool | None:
    """Whether the person follows it; None when it cannot be said (no notifications service
    here, or it does not answer): the page then shows no button."""
    if SERVICE not in rt.services.urls:
        return None
    try:
        response = await rt.services.request(
            SERVICE, "GET", f"/follows/{kind}/{target_id}", token, timeout_s=STATE_TIMEOUT_S
        )
    except (ServiceUnavailable, ServiceRefusal):
        return None
    return bool(response.json()["following"])


async def change(rt: ConsoleRuntime, token: str, kind: str, target_id: str, follow: bool) -> bool:
    """Follow (or stop following) it; the state now."""
    method = "PUT" if follow else "DELETE"
    response = await rt.services.request(SERVICE, method, f"/follows/{kind}/{target_id}", token)
    return bool(response.json()["following"])
