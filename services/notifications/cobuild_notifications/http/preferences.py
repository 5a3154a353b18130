"""The person's notification settings, and the unsubscribe link of every mail (no token: the
link's secret is the person's unsubscribe token)."""

from __future__ import annotations

from typing import Annotated

from cobuild_kit.api import AUTHENTICATED, refusals
from cobuild_kit.errors import Invalid
from cobuild_kit.service import ActorDep, PublicRateLimit
from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse

from cobuild_notifications.domain.kinds import Channel, Kind
from cobuild_notifications.domain.preferences import Preferences
from cobuild_notifications.http.models import ConsentsOut, PreferencesBody
from cobuild_notifications.settings import RuntimeDep
from cobuild_notifications.usecases import preferring

router = APIRouter(tags=["preferences"], responses=AUTHENTICATED)
public = APIRouter(tags=["preferences"])
Token = Annotated[str, Path(min_length=8, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]


def _body(p: Preferences) -> PreferencesBody:
    return PreferencesBody(
        language="en" if p.language == "en" else "zh-CN",
        email=p.addresses.get(Channel.EMAIL), phone=p.addresses.get(Channel.SMS),
        wecom_id=p.addresses.get(Channel.WECOM), dingtalk_id=p.addresses.get(Channel.DINGTALK),
        wechat_openid=p.addresses.get(Channel.WECHAT), frequency=p.frequency, quiet_start=p.quiet_start, quiet_end=p.quiet_end,
        channels={Kind(k): list(v) for k, v in p.channels.items()},
    )  # fmt: skip


@router.get("/preferences")
async def read_preferences(actor: ActorDep, rt: RuntimeDep) -> PreferencesBody:
    return _body(await preferring.read(rt, actor))


@router.put("/preferences")
async def replace_preferences(
    body: PreferencesBody, actor: ActorDep, rt: RuntimeDep
) -> PreferencesBody:
    """Replace the caller's settings. Quiet hours need both ends (422 naming the missing one)."""
    if (body.quiet_start is None) != (body.quiet_end is None):
        missing = "quiet_end" if body.quiet_end is None else "quiet_start"
        raise Invalid("quiet hours need a start and an end", field=f"body.{missing}")
    addresses = {
        Channel.EMAIL: body.email, Channel.SMS: body.phone, Channel.WECOM: body.wecom_id,
        Channel.DINGTALK: body.dingtalk_id, Channel.WECHAT: body.wechat_openid,
    }  # fmt: skip
    p = Preferences(
        subject=actor.subject, language=body.language,
        addresses={c: a for c, a in addresses.items() if a},
        frequency=body.frequency, quiet_start=body.quiet_start, quiet_end=body.quiet_end,
        channels={k.value: tuple(v) for k, v in body.channels.items()},
    )  # fmt: skip
    return _body(await preferring.replace(rt, p))


@router.post("/wechat/consents", responses=refusals(409))
async def consent_to_wechat(actor: ActorDep, rt: RuntimeDep) -> ConsentsOut:
    """The person accepted one WeChat subscription message (the mini program's
    `wx.requestSubscribeMessage`): one more message may go to them. 409 past 1,000 unused."""
    return ConsentsOut(balance=await preferring.consent_to_wechat(rt, actor))


@router.get("/wechat/consents")
async def wechat_consents(actor: ActorDep, rt: RuntimeDep) -> ConsentsOut:
    """How many WeChat subscription messages may still go to the caller."""
    return ConsentsOut(balance=await preferring.wechat_consents(rt, actor))


_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>退订 Unsubscribe</title></head>
<body style="font-family:sans-serif;max-width:32em;margin:2em auto;padding:0 1em">{}</body></html>"""


@public.get("/unsubscribe/{token}", dependencies=[PublicRateLimit], response_class=HTMLResponse)
async def unsubscribe_page(token: Token) -> HTMLResponse:
    """The link in every mail: a page with one button (a link scanner's GET changes nothing)."""
    form = (
        '<h1>退订邮件通知 Unsubscribe</h1><form method="post">'
        '<button type="submit">退订 / Unsubscribe</button></form>'
    )
    return HTMLResponse(_PAGE.format(form))


@public.post(
    "/unsubscribe/{token}", dependencies=[PublicRateLimit], response_class=HTMLResponse,
    responses=refusals(404, 429),
)  # fmt: skip
async def unsubscribe(token: Token, rt: RuntimeDep) -> HTMLResponse:
    """Mail off for every kind (also RFC 8058's one-click POST)."""
    await preferring.unsubscribe(rt, token)
    return HTMLResponse(_PAGE.format("<p>已退订邮件通知。You will get no more e-mails.</p>"))
