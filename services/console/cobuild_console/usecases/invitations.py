"""An invitation link opened in the workbench: what it invites to, and its acceptance by the
signed-in person, who then acts under the grant it became."""

from __future__ import annotations

import structlog

from cobuild_console.gateways.access import Grant, Invitation
from cobuild_console.runtime import ConsoleRuntime
from cobuild_console.sessions import Session
from cobuild_console.usecases import signin

log = structlog.get_logger("cobuild.console.invitations")


async def preview(rt: ConsoleRuntime, link_token: str) -> Invitation:
    return await rt.access.invitation(link_token)


async def accept(rt: ConsoleRuntime, session: Session, link_token: str) -> Grant:
    """Accept with the person token, learn the grants again and act under the new one."""
    session.invitation = None  # used or refused: the link is not offered again after sign-in
    accepted = await rt.access.accept_invitation(await signin.person_token(rt, session), link_token)
    await signin.refresh_grants(rt, session)
    grant = await signin.act_as(rt, session, accepted.grant_id)
    log.info("invitation accepted", subject=session.subject, role=grant.role)
    return grant
