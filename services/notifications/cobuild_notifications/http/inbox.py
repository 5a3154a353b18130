"""The person's inbox: list, unread count, mark one read, mark all read."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from cobuild_kit.api import AUTHENTICATED, Limit, Offset, Page, page_of, refusals
from cobuild_kit.service import ActorDep
from fastapi import APIRouter, Query

from cobuild_notifications.http.models import MarkedOut, NotificationOut, UnreadOut
from cobuild_notifications.settings import RuntimeDep
from cobuild_notifications.usecases import inbox

router = APIRouter(tags=["inbox"], responses=AUTHENTICATED)


@router.get("/inbox")
async def list_inbox(
    actor: ActorDep,
    rt: RuntimeDep,
    unread: Annotated[bool, Query(description="only the unread")] = False,
    lang: Annotated[Literal["zh-CN", "en"] | None, Query()] = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> Page[NotificationOut]:
    """The caller's notifications, newest first, in their language (or `lang`)."""
    items, total = await inbox.page(
        rt, actor, unread_only=unread, limit=limit, offset=offset, lang=lang
    )
    out = [
        NotificationOut(
            notification_id=i.notification_id,
            kind=i.kind,
            title=i.title,
            body=i.body,
            link=i.link,
            created_at=i.created_at,
            read=i.read,
        )
        for i in items
    ]
    return page_of(out, limit=limit, offset=offset, total=total)


@router.get("/inbox/unread-count")
async def unread_count(actor: ActorDep, rt: RuntimeDep) -> UnreadOut:
    return UnreadOut(unread=await inbox.unread(rt, actor))


@router.post("/inbox/{notification_id}/read", responses=refusals(404))
async def mark_read(notification_id: UUID, actor: ActorDep, rt: RuntimeDep) -> MarkedOut:
    """Someone else's notification answers 404, as one that does not exist."""
    await inbox.mark_read(rt, actor, notification_id)
    return MarkedOut(marked=1)


@router.post("/inbox/read-all")
async def mark_all_read(actor: ActorDep, rt: RuntimeDep) -> MarkedOut:
    return MarkedOut(marked=await inbox.mark_all_read(rt, actor))
