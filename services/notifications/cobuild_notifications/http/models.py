"""Bodies of the notifications API."""

from __future__ import annotations

from datetime import datetime, time
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from cobuild_notifications.domain.kinds import Channel, Frequency, Kind

Email = str  # checked by the pattern below: one @, no spaces


class NotificationOut(BaseModel):
    notification_id: UUID
    kind: str
    title: str
    body: str
    link: str
    created_at: datetime
    read: bool


class UnreadOut(BaseModel):
    unread: int


class MarkedOut(BaseModel):
    marked: int


class PreferencesBody(BaseModel):
    """A person's settings. Addresses are entered by the person and kept here only."""

    model_config = ConfigDict(extra="forbid")

    language: Literal["zh-CN", "en"] = "zh-CN"
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9]{6,15}$")
    wecom_id: str | None = Field(default=None, min_length=1, max_length=100)
    dingtalk_id: str | None = Field(default=None, min_length=1, max_length=100)
    # WeChat subscription messages: the person's openid for the mini program; each message
    # needs a consent they gave (`POST /wechat/consents`).
    wechat_openid: str | None = Field(
        default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$"
    )
    frequency: Frequency = Frequency.REALTIME
    # Quiet hours, Asia/Shanghai (may cross midnight: 22:00-07:00); both or neither.
    quiet_start: time | None = None
    quiet_end: time | None = None
    # The channels each kind goes to, where the default (every channel with an address)
    # does not suit; the inbox always keeps every notification.
    channels: dict[Kind, list[Channel]] = Field(default_factory=dict)


class FollowOut(BaseModel):
    target_kind: str
    target_id: UUID
    since: datetime


class FollowedOut(BaseModel):
    following: bool


class ConsentsOut(BaseModel):
    """WeChat subscription messages the person has allowed and not yet received."""

    balance: int
